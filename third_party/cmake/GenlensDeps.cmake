# Finds every library genlens_core needs. All come from Debian packages
# (third_party/install-deps.sh); a LibTorch 2.x (e.g. CUDA, from pip) is used
# instead when pointed at with -DCMAKE_PREFIX_PATH=... .
find_package(Torch REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# yaml-cpp: YAML files written by other tools (the official release's run_config.yml).
# 0.7 (Debian 12) names its target yaml-cpp, 0.8 (Debian 13) yaml-cpp::yaml-cpp.
find_package(yaml-cpp REQUIRED)
if(TARGET yaml-cpp::yaml-cpp)
  set(GENLENS_YAML yaml-cpp::yaml-cpp)
else()
  set(GENLENS_YAML yaml-cpp)
endif()
# ICU: Unicode normalization (NFC etc.) for tokenizer.json normalizers.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)

# sentencepiece ships a .pc file for the main library only; the trainer sits beside it.
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
find_library(SENTENCEPIECE_TRAIN_LIB NAMES sentencepiece_train
             HINTS ${SENTENCEPIECE_LIBRARY_DIRS} REQUIRED)

message(STATUS "genlens: LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX})")

# pip's LibTorch before 2.7 is built with the pre-C++11 std::string ABI, which then applies
# to all of genlens; Debian's compiled fmt and spdlog use the C++11 ABI, so against such a
# LibTorch their header-only forms are used (tests/bench/gpu/build.sh).
set(GENLENS_FMT fmt::fmt)
set(GENLENS_SPDLOG spdlog::spdlog)
if("${TORCH_CXX_FLAGS}" MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  set(GENLENS_FMT fmt::fmt-header-only)
  set(GENLENS_SPDLOG spdlog::spdlog_header_only)
  message(STATUS "genlens: LibTorch uses the pre-C++11 string ABI: fmt and spdlog header-only")
endif()
