#include "views/training_view.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "views/view_common.h"

namespace genlens::views {

const char* to_string(RunState s) {
  switch (s) {
    case RunState::Idle: return "idle";
    case RunState::Starting: return "starting";
    case RunState::Running: return "running";
    case RunState::Pausing: return "pausing";
    case RunState::Paused: return "paused";
    case RunState::Stopping: return "stopping";
    case RunState::Stopped: return "stopped";
    case RunState::Done: return "done";
    case RunState::Failed: return "failed";
    case RunState::Following: return "following";
    case RunState::Finished: return "finished";
  }
  return "?";
}

std::vector<PlotSeries> pick_series(const std::vector<PlotSeries>& all, const std::vector<std::string>& names) {
  std::vector<PlotSeries> out;
  for (size_t k = 0; k < names.size(); ++k)
    for (auto& s : all)
      if (s.name == names[k]) {
        out.push_back(s);
        out.back().color = int(k);
      }
  return out;
}

namespace {

std::string eta_text(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  auto t = static_cast<long long>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void form_row(const char* label, char* buf, size_t n, const char* hint) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(ImGui::GetFontSize() * 5.5f);
  ImGui::SetNextItemWidth(-1);
  ImGui::PushID(label);
  ImGui::InputTextWithHint("##v", hint, buf, n);
  ImGui::PopID();
}

void int_row(const char* label, int* v, int lo, int hi) {
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(ImGui::GetFontSize() * 5.5f);
  ImGui::SetNextItemWidth(-1);
  ImGui::PushID(label);
  if (ImGui::InputInt("##v", v)) *v = std::clamp(*v, lo, hi);
  ImGui::PopID();
}

}  // namespace

TrainingIntents draw_training_view(const TrainingSnapshot& s, TrainingState& st) {
  TrainingIntents out;
  const float font = ImGui::GetFontSize();
  if (!st.init) {
    st.lr_plot.follow = st.grad_plot.follow = true;
    st.loss_plot.log_y = true;
    st.init = true;
  }
  const bool paused = s.state == RunState::Paused || s.state == RunState::Pausing;
  const bool active =
      s.state == RunState::Starting || s.state == RunState::Running || s.state == RunState::Stopping || paused;

  // Left column: the form and the run's files.
  ImGui::BeginChild("form", ImVec2(font * 22, 0), true);
  ImGui::TextDisabled("New run");
  auto& f = st.form;
  form_row("model", f.model, sizeof f.model, "model directory");
  form_row("data", f.data, sizeof f.data, "responses JSONL");
  form_row("out", f.out, sizeof f.out, "run directory");
  form_row("teacher", f.teacher, sizeof f.teacher, "mean-pool or npy:PATH");
  form_row("device", f.device, sizeof f.device, "cpu, cuda");
  int_row("steps", &f.steps, 1, 10000000);
  int_row("warm-up", &f.warmup, 0, 10000000);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Steps over which the learning rate rises linearly from 0 to lr; then it decays linearly to 0.");
  for (auto& w : s.form_warnings) {
    ImGui::PushTextWrapPos(0);
    ImGui::TextColored(ImVec4(0.95f, 0.75f, 0.35f, 1), "%s", w.c_str());
    ImGui::PopTextWrapPos();
    if (f.warmup >= f.steps) {
      ImGui::PushID(&w);
      if (ImGui::SmallButton(fmt::format("warm-up {} (a tenth of the steps)", f.steps / 10).c_str())) f.warmup = f.steps / 10;
      ImGui::PopID();
    }
  }
  int_row("batch", &f.batch, 1, 4096);
  int_row("thought", &f.thought, 0, 64);
  int_row("compress", &f.compression, 1, 64);
  int_row("save every", &f.save_every, 1, 1000000);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("lr");
  ImGui::SameLine(font * 5.5f);
  ImGui::SetNextItemWidth(-1);
  ImGui::InputFloat("##lr", &f.lr, 0, 0, "%.2e");
  ImGui::Spacing();
  // Four buttons sharing the column: Start, Resume (a stopped run), Pause/Continue, Stop.
  const float bw = (ImGui::GetContentRegionAvail().x - 3 * ImGui::GetStyle().ItemSpacing.x) / 4;
  ImGui::BeginDisabled(active || !f.model[0] || !f.data[0] || !f.out[0]);
  if (ImGui::Button("Start", ImVec2(bw, 0))) out.start = true;
  ImGui::SameLine();
  if (ImGui::Button("Resume", ImVec2(bw, 0))) out.resume = true;
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Continues a stopped run from its last checkpoint (same settings).");
  ImGui::SameLine();
  ImGui::BeginDisabled(!(active && s.own_run) || s.state == RunState::Stopping);
  if (ImGui::Button(paused ? "Continue" : "Pause", ImVec2(bw, 0))) (paused ? out.unpause : out.pause) = true;
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip(paused ? "Picks the run up exactly where it was frozen."
                             : "Freezes the run where it stands (nothing is lost; it keeps its memory).");
  ImGui::SameLine();
  if (ImGui::Button("Stop", ImVec2(bw, 0))) out.stop = true;
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Stops at the current step and saves a checkpoint; Resume continues it.");

  ImGui::Spacing();
  ImGui::Separator();
  ImGui::TextDisabled("Follow a run directory");
  ImGui::SetNextItemWidth(-font * 4.5f);
  bool enter = ImGui::InputTextWithHint("##follow", "RUN_DIR (any genlens train)", st.follow, sizeof st.follow,
                                        ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Follow") || enter) && st.follow[0]) out.follow = st.follow;

  ImGui::Spacing();
  ImGui::Separator();
  ImGui::TextDisabled("Checkpoints");
  if (s.checkpoints.empty()) ImGui::TextDisabled("none yet");
  for (size_t i = 0; i < s.checkpoints.size(); ++i) {
    ImGui::PushID(int(i));
    ImGui::TextUnformatted(s.checkpoints[i].c_str());
    ImGui::SameLine(ImGui::GetContentRegionAvail().x - font * 3.5f);
    if (ImGui::SmallButton("inspect")) out.open_checkpoint = int(i);
    ImGui::PopID();
  }
  ImGui::EndChild();
  ImGui::SameLine();

  // Right: status line and curves.
  ImGui::BeginChild("curves", ImVec2(0, 0), false);
  if (s.run_dir.empty()) {
    ImGui::TextDisabled("No run yet: fill in the form and press Start, or follow a run directory.");
  } else {
    ImGui::Text("%s", display_path(s.run_dir).c_str());
    ImGui::SameLine();
    ImVec4 col = s.state == RunState::Failed ? ImVec4(1, 0.45f, 0.4f, 1)
                 : paused            ? ImVec4(1, 0.8f, 0.35f, 1)
                 : active || s.state == RunState::Following ? ImVec4(0.55f, 0.8f, 1, 1)
                                                    : ImVec4(0.6f, 0.9f, 0.6f, 1);
    ImGui::TextColored(col, "%s%s%s", to_string(s.state), s.stage.empty() ? "" : " · ", s.stage.c_str());
    float frac = s.total_steps > 0 ? float(double(s.step) / double(s.total_steps)) : 0.0f;
    auto detail = fmt::format("step {} / {}{}", s.step, s.total_steps,
                              paused ? std::string(" · paused")
                              : s.total_steps > 0 && s.step >= s.total_steps && !active
                                  ? std::string(" · finished")
                              : s.rate > 0 ? fmt::format(" · {:.2f} steps/s · ETA {}", s.rate, eta_text(s.eta_s))
                                           : std::string());
    const bool finished = s.state == RunState::Finished || s.state == RunState::Done;
    if (finished) ImGui::PushStyleColor(ImGuiCol_PlotHistogram, ImVec4(0.30f, 0.62f, 0.36f, 1));
    ImGui::ProgressBar(std::clamp(frac, 0.0f, 1.0f), ImVec2(-1, 0), detail.c_str());
    if (finished) ImGui::PopStyleColor();
    if (!s.error.empty()) {
      ImGui::PushTextWrapPos(0);
      ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", s.error.c_str());
      ImGui::PopTextWrapPos();
    }
  }
  const float w = ImGui::GetContentRegionAvail().x;
  const float half = (w - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  const float log_h = (s.log_tail.empty() ? 0 : font * 5) + font * 4.5f;  // and the probe strip
  const float plot_h = std::max(font * 8, (ImGui::GetContentRegionAvail().y - log_h) * 0.5f - font * 3.2f);

  auto plot = [&](const char* title, const char* id, const std::vector<std::string>& names, LinePlotState& ps,
                  float width, bool log_toggle) {
    ImGui::BeginGroup();
    ImGui::TextUnformatted(title);
    ImGui::SameLine();
    const bool png = png_button(id, st.png_pending);
    if (log_toggle) {
      ImGui::SameLine();
      ImGui::PushID(id);
      ImGui::Checkbox("log", &ps.log_y);
      ImGui::SameLine();
      ImGui::SetNextItemWidth(font * 6);
      ImGui::SliderFloat("smooth", &ps.smoothing, 0.0f, 0.99f, "%.2f");
      ImGui::PopID();
    }
    draw_line_plot(id, pick_series(s.metrics, names), ps, width, plot_h);
    ImGui::EndGroup();
    if (png) out.png = png_of_last_item(id);
  };
  plot("Losses", "loss", {"loss", "recon_loss", "align_loss"}, st.loss_plot, half, true);
  ImGui::SameLine();
  plot("Cosine to the teacher", "cos", {"cos_matched", "cos_unmatched"}, st.cos_plot, half, true);
  const float third = (w - 2 * ImGui::GetStyle().ItemSpacing.x) / 3.0f;
  plot("Learning rate", "lr", {"lr"}, st.lr_plot, third, false);
  ImGui::SameLine();
  plot("Gradient norm", "grad", {"grad_norm"}, st.grad_plot, third, false);
  ImGui::SameLine();
  plot("Throughput (samples/s)", "speed", {"samples_per_s"}, st.speed_plot, third, false);
  // The probe timeline: what the compression tokens say about one query, checkpoint by
  // checkpoint; the slider scrubs back through earlier ones.
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Probe");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(w * 0.45f);
  if (ImGui::InputTextWithHint("##probe", "a query to watch as the tokens learn", st.probe, sizeof st.probe,
                               ImGuiInputTextFlags_EnterReturnsTrue))
    out.probe_changed = true;
  if (!s.probes.empty()) {
    const int last = int(s.probes.size()) - 1;
    int shown = st.probe_index < 0 || st.probe_index > last ? last : st.probe_index;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    auto label = fmt::format("step {} ({} of {})", s.probes[size_t(shown)].step, shown + 1, last + 1);
    if (ImGui::SliderInt("##timeline", &shown, 0, last, label.c_str())) st.probe_index = shown == last ? -1 : shown;
    const auto& pf = s.probes[size_t(shown)];
    std::string words;
    for (auto& wd : pf.lens_words) words += (words.empty() ? "" : "  ") + wd;
    ImGui::TextDisabled("lens");
    ImGui::SameLine(font * 4.5f);
    ImGui::TextUnformatted(words.empty() ? "(no words)" : words.c_str());
    ImGui::TextDisabled("decoded");
    ImGui::SameLine(font * 4.5f);
    ImGui::PushTextWrapPos(0);
    ImGui::TextUnformatted(pf.decoded.empty() ? "(empty)" : pf.decoded.c_str());
    ImGui::PopTextWrapPos();
  }
  if (!s.probe_status.is_ready()) draw_status(s.probe_status);
  if (!s.log_tail.empty()) {
    ImGui::BeginChild("trainlog", ImVec2(0, 0), true);
    for (auto& l : s.log_tail) ImGui::TextUnformatted(l.c_str());
    ImGui::SetScrollHereY(1.0f);
    ImGui::EndChild();
  }
  ImGui::EndChild();
  return out;
}

}  // namespace genlens::views
