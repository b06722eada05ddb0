#include "views/about_view.h"

#include <imgui.h>

namespace genlens::views {

void draw_about_view(const AboutSnapshot& snap, AboutViewState& state) {
  if (!state.open) return;
  if (!ImGui::Begin("About genlens", &state.open)) {
    ImGui::End();
    return;
  }
  ImGui::Text("genlens %s", snap.genlens_version.c_str());
  ImGui::Separator();
  ImGui::TextWrapped(
      "A lab for generative embeddings (LLM2Vec-Gen): a frozen LLM gets trainable thought and "
      "compression tokens appended to its input; the compression tokens' hidden states are "
      "trained to stand for the response the LLM would give. Train them, encode text with them, "
      "and look inside: logit lens, decoding from an embedding, embedding maps, live loss curves.");
  ImGui::Spacing();
  if (ImGui::BeginTable("env", 2, ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit)) {
    auto row = [](const char* k, const std::string& v) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::TextUnformatted(k);
      ImGui::TableSetColumnIndex(1);
      ImGui::TextUnformatted(v.c_str());
    };
    row("LibTorch", snap.torch_version);
    row("BLAS", snap.blas_library.empty() ? "(not loaded)" : snap.blas_library);
    row("Threads", std::to_string(snap.threads));
    std::string devs;
    for (auto& d : snap.devices) devs += (devs.empty() ? "" : ", ") + d;
    row("Devices", devs);
    ImGui::EndTable();
  }
  if (snap.blas_is_reference)
    ImGui::TextColored(ImVec4(1.0f, 0.6f, 0.2f, 1.0f),
                       "Reference BLAS in use: install libopenblas0-pthread (fp32 ~30x faster).");
  ImGui::End();
}

}  // namespace genlens::views
