// The Compare tab's study, torch-free: a study read by core/runs/study_file.h as the
// view's snapshot (cells with the best of each column and the ties within the spread
// marked), and one variant's held-out files (probe/map.json, probe/samples.jsonl) as its
// map and samples. Run on jobs by StudyController; tested without the studio.
#pragma once
#include <filesystem>
#include <string>

#include "core/runs/study_file.h"
#include "views/study_view.h"

namespace genlens::studio {

// The table part of the snapshot (no maps): open, status ready.
views::StudySnapshot study_snapshot(const runs::Study& s);

// The variant's first finished run's held-out map and samples. A study without held-out
// queries has no map.json: the probe's status says so (Unavailable), nothing is thrown.
// Malformed files throw genlens::Error naming the file (and line or field).
views::StudyProbe read_study_probe(const std::filesystem::path& study_dir, const std::string& run_dir, int variant);

// One label list for both maps, so a label has the same colour on each.
void share_labels(views::StudyProbe& a, views::StudyProbe& b);

// Default picks for the maps: A the first variant with a finished run, B the best of the
// first column (else the next one with a finished run); -1 where there is none.
std::pair<int, int> default_study_picks(const views::StudySnapshot& s);

}  // namespace genlens::studio
