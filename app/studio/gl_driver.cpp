#include "app/studio/gl_driver.h"

#include <dlfcn.h>

#include <cstdlib>

namespace genlens::studio {
namespace {
bool g_steered = false;
}

void avoid_llvm_clash_in_software_gl() {
  if (std::getenv("GALLIUM_DRIVER") != nullptr) return;  // the user's choice stands
  if (dlsym(RTLD_DEFAULT, "llvm_regcomp") == nullptr &&
      dlsym(RTLD_DEFAULT, "llvm_orc_registerEHFrameSectionWrapper") == nullptr)
    return;
  setenv("GALLIUM_DRIVER", "softpipe", /*overwrite=*/0);
  g_steered = true;
}

std::string llvm_clash_note(const std::string& renderer) {
  if (!g_steered || renderer.find("softpipe") == std::string::npos) return "";
  return "genlens-studio: software OpenGL runs on softpipe, not llvmpipe: this LibTorch carries its "
         "own LLVM, which crashes llvmpipe (pytorch/pytorch#96060). Set GALLIUM_DRIVER to choose.";
}

}  // namespace genlens::studio
