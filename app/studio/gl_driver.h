// Choosing the software OpenGL driver before the window opens, where the linked LibTorch
// would crash Mesa's default one.
#pragma once

#include <string>

namespace genlens::studio {

// A LibTorch built with its own LLVM (Debian 13's 2.6 carries one for its NNC fuser)
// exports LLVM's C symbols (llvm_regcomp, llvm_orc_*). Mesa's llvmpipe dlopens the
// system libLLVM later, binds to LibTorch's copies first, and segfaults while creating
// the GL context (pytorch/pytorch#96060). When those symbols are present and the user
// has not chosen (GALLIUM_DRIVER unset), software rendering goes to softpipe, which uses
// no LLVM; hardware drivers ignore the variable. Call before glfwInit.
void avoid_llvm_clash_in_software_gl();

// The line to print once the context exists, or "" when nothing was changed or the
// context is not the software one we steered (renderer from glGetString(GL_RENDERER)).
std::string llvm_clash_note(const std::string& renderer);

}  // namespace genlens::studio
