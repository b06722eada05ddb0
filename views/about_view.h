// About panel: what genlens is and what it runs on. Input is a plain snapshot.
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct AboutSnapshot {
  std::string genlens_version;
  std::string torch_version;
  std::string blas_library;
  bool blas_is_reference = false;
  int threads = 0;
  std::vector<std::string> devices;
};

struct AboutViewState {
  bool open = true;
};

void draw_about_view(const AboutSnapshot& snap, AboutViewState& state);

}  // namespace genlens::views
