#!/usr/bin/env bash
# The README's demo table ("The demo world", **Measured**), measured again: builds the
# default, the `--quick` and the `--quick` kitchen-world demo into fresh temporary
# workspaces, one after another, and prints the table in Markdown from each report.json,
# with each build's wall time (and, below it, where the default build's time went).
# Paste it over the README's table in the commit that changes the figures.
#
#   bash tests/bench/demo_table.sh [GENLENS]        (default: build/genlens)
#
# Nothing is cached between the builds or from earlier runs (fresh workspaces, removed at
# the end; KEEP=1 keeps them). The wall times include whatever else the machine is doing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
g="${1:-$repo/build/genlens}"
py="${PYTHON:-python3}"
[[ -x "$g" ]] || { echo "demo_table.sh: no genlens at $g (build it, or pass its path)" >&2; exit 2; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/genlens-demo-table.XXXXXX")"
if [[ "${KEEP:-0}" == 1 ]]; then
  echo "demo_table.sh: workspaces kept in $tmp" >&2
else
  trap 'rm -rf "$tmp"' EXIT
fi

# build NAME ARGS...: one fresh build; its wall time (seconds) goes to NAME.seconds.
build() {
  local name="$1"; shift
  echo "demo_table.sh: genlens demo${*:+ $*} (workspace $tmp/$name)" >&2
  local t0 t1
  t0="$(date +%s.%N)"
  "$g" demo --quiet --out "$tmp/$name" "$@" >/dev/null
  t1="$(date +%s.%N)"
  "$py" -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1" >"$tmp/$name.seconds"
}

build default
build quick --quick
build kitchen --quick --world "$repo/assets/demo/world-kitchen.json"

echo "demo_table.sh: $(nproc) cores; $("$g" --version 2>/dev/null | head -n 1)" >&2
"$py" - "$tmp" <<'PY'
import json, sys
from pathlib import Path

tmp = Path(sys.argv[1])
columns = [("default", "default"), ("`--quick`", "quick"), ("`--quick`, kitchen world", "kitchen")]
reports = {key: json.loads((tmp / key / "report.json").read_text()) for _, key in columns}
seconds = {key: float((tmp / f"{key}.seconds").read_text()) for _, key in columns}

def pct(x):
    return f"{100 * x:.0f}%"

def task_cell(report, task_type, metric, lower_better):
    # generative / the better of mean and last, the better of the two in bold (README style).
    for t in report.get("eval", {}).get("tasks", []):
        if t.get("type") != task_type:
            continue
        s = t.get("scores", {})
        try:
            gen = s["generative"][metric]
            pick = min if lower_better else max
            best = pick(s["mean"][metric], s["last"][metric])
        except KeyError:
            return "-"
        g, b = f"{gen:.3f}", f"{best:.3f}"
        if g != b and (gen < best) == lower_better:
            g = f"**{g}**"
        elif g != b:
            b = f"**{b}**"
        return f"{g} / {b}"
    return "-"  # the world has no such task (no harmful category: no safety task)

def wall(s):
    return f"{int(s) // 60}m{int(s) % 60:02d}s"

rows = [
    ("tiny LM: held-out answers of the right kind",
     lambda r: f"{pct(r['lm_check']['heldout_accuracy'])} of {r['lm_check']['n']}"),
    ("clustering V-measure: generative / best of mean, last", lambda r: task_cell(r, "clustering", "v_measure", False)),
    ("retrieval nDCG@10", lambda r: task_cell(r, "retrieval", "ndcg_at_10", False)),
    ("safety harmful@5 (lower is better)", lambda r: task_cell(r, "safety", "harmful_at_5", True)),
    ("classification accuracy", lambda r: task_cell(r, "classification", "accuracy", False)),
    ("STS Spearman", lambda r: task_cell(r, "sts", "spearman", False)),
    ("logit lens: a response word in the compression tokens' top-10", lambda r: pct(r["lens"]["lens_hit_rate"])),
    ("decoding the soft prompts alone: right kind of answer", lambda r: pct(r["lens"]["decode_right_kind_rate"])),
]
print("| | " + " | ".join(title for title, _ in columns) + " |")
print("|---|" + "---:|" * len(columns))
for title, cell in rows:
    print(f"| {title} | " + " | ".join(cell(reports[key]) for _, key in columns) + " |")
print("| wall time | " + " | ".join(wall(seconds[key]) for _, key in columns) + " |")

# Where the default build's time went (report.json's timings, seconds per stage).
t = reports["default"].get("timings", {})
stages = sorted(((v, k) for k, v in t.items() if k != "total"), reverse=True)
print()
print("default, seconds per stage: " + ", ".join(f"{k} {v:.1f}" for v, k in stages) + f"; total {t.get('total', 0):.1f}")
PY
