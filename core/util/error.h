// Errors a person can act on: every message names the file or field, what was
// expected and what was found. Core code throws genlens::Error; front ends catch it
// at the top, print it, and exit with a meaningful code. Nothing aborts on bad input.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace genlens {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace genlens
