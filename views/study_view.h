// Compare tab, study part: a study folder written by `genlens study` (one adapter per
// variant of a training setting, several seeds each) as a table of variants x scores with
// the best of each column marked, a plot of one score against one varied setting, and two
// variants' held-out maps side by side with a linked selection and the inspected query's
// decoded text and lens words under both. Reads a plain snapshot; the app fills it.
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/scatter.h"

namespace genlens::views {

struct StudyColumnInfo {
  std::string id, label, metric, kind;  // kind: "eval" or "probe"
  bool lower_is_better = false;
  std::string header;  // what the table and the score list show: the label less the shared task prefix
  const std::string& shown() const { return header.empty() ? label : header; }
};

struct StudyCell {
  double mean = NAN, spread = NAN;  // NaN mean: no finished run scored it
  int runs = 0;                     // finished runs behind the mean (the spread means something past 1)
  bool best = false;                // the column's best mean
  bool near_best = false;           // within the spread of the best: the difference is noise
};

struct StudyVariantRow {
  std::string name;
  std::vector<std::pair<std::string, std::string>> setting;  // the varied keys and values, in vary order
  int runs_done = 0, runs_total = 0;
  std::vector<StudyCell> cells;  // one per column
  std::string probe_run;         // its first finished run (relative to the study): its maps; "" none
  bool has_probe() const { return !probe_run.empty(); }
};

struct StudyAxisInfo {
  std::string key;
  std::vector<std::string> values;
};

struct StudySample {  // one row of probe/samples.jsonl
  std::string id, question, category, decoded;
  bool decode_hit = false, lens_hit = false;
  std::vector<std::string> lens_top10;
};

// One variant's held-out queries: the map (probe/map.json) and the samples.
struct StudyProbe {
  int variant = -1;         // the row this is for (-1: none)
  std::string run_dir;      // its first finished run, relative to the study
  Status status;            // Unavailable with why when there is no map to show
  std::vector<std::string> ids, texts;
  ScatterData pca, umap;    // labels index label_names
  std::vector<std::string> label_names;
  std::vector<StudySample> samples;
  const StudySample* sample(const std::string& id) const;
  int index_of(const std::string& id) const;  // in ids; -1 when absent
};

struct StudySnapshot {
  bool open = false;  // a study has been read
  Status status;      // reading, failed (the reader's error), or ready
  std::string dir;    // as shown (display_path)
  std::string summary;  // "model · 3 variants × 2 seeds · held-out: FILE"
  int seeds = 0;
  bool zip = false;         // variants pair the vary lists' values position by position (not a grid)
  std::string task_prefix;  // "helpdesk-" when every eval column's label starts with it ("" none)
  std::vector<StudyColumnInfo> columns;
  std::vector<StudyAxisInfo> vary;
  std::vector<StudyVariantRow> variants;
  StudyProbe a, b;  // the two variants picked for the maps
};

struct StudyState {
  char path[512] = "";
  int sort_column = -1;  // -1 as given; 0 variant, 1 seeds, 2.. the study's columns
  bool ascending = true;
  int plot_column = 0;
  int plot_axis = 0;  // an index into vary, or kPlotByVariant
  int pick_a = -1, pick_b = -1;  // the variants whose maps are shown (-1: the app picks)
  bool umap = true;              // which layout of the maps
  // Linked selection between the two maps, by query id (the maps are different runs:
  // the same query sits at a different point in each).
  std::vector<std::string> selected_ids;
  std::string inspected_id;  // clicked: its decoded texts and lens words are shown
  std::string hovered_id;    // last frame's hovered point, ringed on the other map
  ScatterView view_a, view_b;
  std::vector<uint8_t> sel_a, sel_b;
  std::vector<bool> hidden_a, hidden_b;
  // Where the maps were drawn last frame (screen x0, y0, x1, y1): for tests and scripts.
  float map_a_rect[4] = {0, 0, 0, 0}, map_b_rect[4] = {0, 0, 0, 0};
};

struct StudyIntents {
  std::string open;  // a study folder to read
  bool reload = false;
  bool picks_changed = false;  // pick_a / pick_b changed: load their maps
};

// The study line at the top of the Compare tab: a path field, Open and Reload, and what is open.
StudyIntents draw_study_open_row(const StudySnapshot& snap, StudyState& state);
// The study itself (table, plot, maps); call when snap.open.
StudyIntents draw_study_view(const StudySnapshot& snap, StudyState& state);

// Row order for the state's sort (stable; missing values last).
std::vector<size_t> sorted_study_rows(const StudySnapshot& snap, const StudyState& state);
// A cell as the table writes it: "0.650", "0.650 ± 0.012" (more than one run), "-" (none).
std::string study_cell_text(const StudyCell& c);

// The eval columns' shared task prefix: the longest start ending in '-' that every eval
// label has with something after it ("helpdesk-" for helpdesk-sts, helpdesk-retrieval);
// "" with fewer than two eval columns or none shared. Probe columns (decode, lens) are
// not tasks and keep their labels.
std::string shared_task_prefix(const std::vector<StudyColumnInfo>& columns);
// Sets each column's header (eval labels less the prefix) and snap.task_prefix.
void shorten_task_headers(StudySnapshot& snap);

// The table's column widths (text only, no cell padding), from the font in use: every
// header and every cell's text fits, the variant column fits the longest name.
struct StudyTableWidths {
  float pick = 0, variant = 0, seeds = 0;
  std::vector<float> columns;  // one per study column
  float total() const;
};
StudyTableWidths study_table_widths(const StudySnapshot& snap);

// The plot's x choice that puts each variant at its own position, in study order.
constexpr int kPlotByVariant = -1;
// A zip study with several settings: by variant (its settings move together, so one
// setting against the score mixes effects); otherwise the first setting.
int default_plot_axis(const StudySnapshot& snap);

// The plot's data: for one column and one varied setting, one series per combination of
// the other settings' values, x = the setting's value (numeric when every value parses as
// a number, else its position among the values), y = the variant's mean, err = its spread.
struct StudySeries {
  std::string name;  // the other settings ("thought=4, lr=1e-4"; "" when there are none)
  std::vector<double> x, y, err;
  std::vector<int> variant;  // the row of each point
};
struct StudyPlotData {
  bool numeric_x = false;
  bool by_variant = false;  // x: the variants (categories are their names; points not joined)
  std::vector<std::string> categories;  // the setting's values, in order (x ticks when not numeric)
  std::vector<StudySeries> series;
};
// axis kPlotByVariant: one series, x = the variant's position, categories its name.
StudyPlotData study_plot_data(const StudySnapshot& snap, int column, int axis);
// The x ticks to label: each distinct category once, by position left to right.
std::vector<size_t> study_x_ticks(const StudyPlotData& d);

// Linked selection: the ids of the points flagged in `selected` (one flag per id), and
// the flags of `probe`'s points for a set of ids.
std::vector<std::string> ids_of(const StudyProbe& probe, const std::vector<uint8_t>& selected);
std::vector<uint8_t> flags_for(const StudyProbe& probe, const std::vector<std::string>& ids);

}  // namespace genlens::views
