# Common settings for genlens' own targets: warnings on for our code only, and one
# precompiled header with LibTorch shared by every target (torch headers dominate
# compile time; the PCH is built once and reused).
function(genlens_target_defaults target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
endfunction()

# The first call builds the PCH on `target`; later calls reuse it.
set(GENLENS_PCH_OWNER "" CACHE INTERNAL "")
function(genlens_use_torch_pch target)
  if(GENLENS_PCH_OWNER STREQUAL "")
    target_precompile_headers(${target} PRIVATE ${CMAKE_SOURCE_DIR}/core/pch.h)
    set(GENLENS_PCH_OWNER ${target} CACHE INTERNAL "")
  else()
    target_precompile_headers(${target} REUSE_FROM ${GENLENS_PCH_OWNER})
  endif()
endfunction()
