#include "core/demo/ablations.h"

#include <fmt/format.h>

#include "core/demo/demo_run.h"
#include "core/io/atomic_file.h"
#include "core/runtime/job.h"
#include "core/util/error.h"

namespace genlens::demo {

namespace fs = std::filesystem;

std::vector<AblationStudy> ablation_studies(const AblationOptions& o) {
  const fs::path ws = o.workspace;
  if (!fs::exists(ws / "report.json") || !fs::exists(ws / "demo.json"))
    fail("{}: not a finished demo workspace (no report.json); build it with `genlens demo --out {}` first",
         ws.string(), ws.string());
  const auto identity = io::read_json_file(ws / "demo.json");
  if (!identity.is_object() || !identity.contains("variant") || !identity["variant"].is_string())
    fail("{}: expected \"variant\": \"default\" or \"quick\"", (ws / "demo.json").string());
  const bool quick = identity["variant"] == "quick";
  if (o.steps < 0) fail("--study-steps: expected >= 1, found {}", o.steps);

  runs::StudyOptions base;
  base.model_dir = (ws / "model").string();
  base.data = ws / "responses.jsonl";
  base.tasks = ws / "tasks";
  base.heldout = ws / "world" / "heldout.jsonl";
  base.base = stages::adapter_settings(stages::plan_for(quick));
  if (o.steps > 0) {
    base.base.steps = o.steps;
    base.base.save_every = o.steps;
  }
  base.seeds = o.seeds;
  const fs::path root = ws / "study";

  std::vector<AblationStudy> out;
  auto add = [&](const char* name, const char* title, std::vector<runs::VaryAxis> vary, runs::Combine combine,
                 bool reuse_losses) {
    AblationStudy a{name, title, base, 0};
    a.options.out = root / name;
    a.options.vary = std::move(vary);
    a.options.combine = combine;
    if (reuse_losses) a.options.reuse = {root / "losses"};
    a.runs = runs::plan_study(a.options).runs.size();
    out.push_back(std::move(a));
  };
  add("losses", "Losses: reconstruction and alignment",
      {{"recon-weight", {"1", "1", "0"}}, {"align-weight", {"1", "0", "1"}}}, runs::Combine::Zip, false);
  add("thought", "Thought tokens", {{"thought", {"0", "10"}}}, runs::Combine::Grid, true);
  add("compression", "Compression tokens", {{"compression", {"2", "5", "10", "20"}}}, runs::Combine::Grid, true);
  return out;
}

std::string ablation_markdown(const std::vector<AblationStudy>& plan, const std::vector<runs::Study>& studies,
                              const std::vector<Claim>& claims) {
  std::string out = "# The paper's ablations on the demo world\n\n";
  if (!plan.empty()) {
    const auto& b = plan.front().options;
    out += fmt::format(
        "Each variant is the demo adapter ({} steps, batch {}, lr {:g}, {} thought and {} compression tokens, "
        "recon + align, mean-pool teacher) with the setting shown changed, trained as `genlens train`, scored as "
        "`genlens eval --modes generative` and probed on the held-out queries; seeds: {}.\n\n",
        b.base.steps, b.base.batch_size, b.base.lr, b.base.n_thought, b.base.n_compression,
        b.seeds == 1 ? fmt::format("{}", b.base.seed) : fmt::format("{} to {}", b.base.seed, b.base.seed + b.seeds - 1));
  }
  for (size_t i = 0; i < studies.size(); ++i) {
    out += fmt::format("## {}\n\n", i < plan.size() ? plan[i].title : studies[i].dir.filename().string());
    out += runs::study_table_markdown(studies[i]);
    out += "\n";
  }
  out += claims_markdown(claims);
  return out;
}

AblationReport run_ablations(runtime::JobContext& ctx, const AblationOptions& o) {
  const auto plan = ablation_studies(o);
  AblationReport report;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (o.on_study) o.on_study(static_cast<int>(i), plan[i].name);
    ctx.log(fmt::format("  study {}/{} {}", i + 1, plan.size(), plan[i].name));
    report.studies.push_back(runs::run_study(plan[i].options, ctx));
  }
  report.claims = judge_claims(report.studies[0], report.studies[1], report.studies[2]);
  report.markdown = ablation_markdown(plan, report.studies, report.claims);
  const fs::path root = o.workspace / "study";
  io::write_file_atomic(root / "claims.json", claims_to_json(report.claims).dump(2) + "\n");
  io::write_file_atomic(root / "report.md", report.markdown);
  return report;
}

}  // namespace genlens::demo
