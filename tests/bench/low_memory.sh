#!/usr/bin/env bash
# The README's "low-memory weight format" table: float32 against --weights bf16 (bf16
# matrices, float32 compute) at Qwen3-0.6B's shape (random weights, batch 1) with
# genlens's default thread pools, every figure from this one run, and how often the two
# agree: greedy tokens and the lens's top-1 word, on the trained demo LM with its held-out
# texts (when a demo workspace exists) and on the random real-shape model.
#
#   bash tests/bench/low_memory.sh [BUILD_DIR]     (Markdown on stdout; JSON lines in $OUT_JSON)
#   GENLENS_DEMO_DIR=DIR picks the demo workspace (default ~/.cache/genlens/demo; build it with `genlens demo`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../../build}"
genlens="$build/genlens"
[ -x "$genlens" ] || { echo "low_memory.sh: no $genlens (build first)" >&2; exit 1; }
json="${OUT_JSON:-$(mktemp /tmp/genlens-low-memory.XXXXXX.jsonl)}"
: >"$json"
demo="${GENLENS_DEMO_DIR:-$HOME/.cache/genlens/demo}"
shape=(--shape qwen3-0.6b --batch 1)

run() {  # run LABEL ARGS...: the bench's JSON lines, labelled
  local label="$1"
  shift
  "$genlens" "$@" 2>/dev/null |
    while IFS= read -r line; do
      case "$line" in "{"*) printf '{"label":"%s",%s\n' "$label" "${line#\{}" ;; esac
    done >>"$json"
  echo "low_memory.sh: $label done" >&2
}

for w in same bf16; do
  run "lens-$w" bench lens "${shape[@]}" --steps 3 --weights "$w"
  run "generate-$w" bench generate "${shape[@]}" --steps 2 --new-tokens 32 --query-len 16 --weights "$w"
  run "encode-$w" bench encode "${shape[@]}" --steps 3 --weights "$w"
  run "inspector-$w" bench inspector --shape qwen3-0.6b --steps 2 --weights "$w"
done
if [ -f "$demo/model/config.json" ] && [ -f "$demo/maps/points.jsonl" ]; then
  run agree-demo bench weights --model "$demo/model" --texts "$demo/maps/points.jsonl" --prompts 100 --new-tokens 32
else
  echo "low_memory.sh: no demo workspace at $demo (genlens demo builds it): the demo agreement row is skipped" >&2
fi
run agree-shape bench weights "${shape[@]}" --prompts 20 --new-tokens 16

python3 - "$json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(label, case, need=True):
    for r in rows:
        if r["label"] == label and r["case"] == case:
            return r
    if need:
        sys.exit(f"low_memory.sh: no {label}/{case} in {sys.argv[1]}")
ms = lambda r: r["latency_ms"]["p50"]
f, b = {}, {}
for w, d in (("same", f), ("bf16", b)):
    d["lens"], d["lensc"] = get(f"lens-{w}", "all-layers-top10"), get(f"lens-{w}", "compression-top10")
    d["gen"] = get(f"generate-{w}", "greedy")
    d["enc"] = get(f"encode-{w}", "generative")
    d["insp"] = get(f"inspector-{w}", "one-query")
print(f"Qwen3-0.6B shape, random weights, batch 1, genlens's default thread pools "
      f"({f['gen']['threads']} LibTorch thread; OpenBLAS and the bf16 kernel on every core).\n")
print("| what a user waits for | float32 | bf16 matrices (`--weights bf16`) | bf16 vs float32 |")
print("|---|---:|---:|---:|")
def row(name, a, c, unit, fmt="{:.2f}", higher_better=False):
    ratio = (c / a) if higher_better else (a / c)
    print(f"| {name} | {fmt.format(a)} {unit} | {fmt.format(c)} {unit} | {ratio:.2f}x {'faster' if ratio >= 1 else 'slower'} |")
row("logit lens, every layer x the 10 compression tokens, top-10", ms(f["lensc"]) / 1e3, ms(b["lensc"]) / 1e3, "s")
row("logit lens, every layer x 20 special tokens + soft prompts, top-10", ms(f["lens"]) / 1e3, ms(b["lens"]) / 1e3, "s")
row("greedy decoding steps", f["gen"]["decode_tokens_per_s"], b["gen"]["decode_tokens_per_s"], "tokens/s", higher_better=True)
row("16-token prompt pass", f["gen"]["prompt_ms"], b["gen"]["prompt_ms"], "ms", "{:.0f}")
row("encode one query, generative", ms(f["enc"]), ms(b["enc"]), "ms", "{:.0f}")
fi, bi = f["insp"], b["insp"]
row("one inspector query (`bench inspector`): the lens appears", fi["lens_s"], bi["lens_s"], "s")
row("... the first decoded token appears (streamed from here on)", fi["first_token_s"], bi["first_token_s"], "s")
row("... the decoded text is complete (48 tokens)", fi["decoded_s"], bi["decoded_s"], "s", "{:.1f}")
row("... the model's answer is complete (48 tokens), then the embedding for the neighbours", ms(fi) / 1e3, ms(bi) / 1e3, "s", "{:.1f}")
fg, bg = f["gen"], b["gen"]
print(f"| weights read per generated token / read floor | {fg['weight_mb_per_step']:.0f} MB, {fg['step_vs_floor']:.2f}x the floor's time "
      f"({fg['read_gb_per_s']:.1f} GB/s) | {bg['weight_mb_per_step']:.0f} MB, {bg['step_vs_floor']:.2f}x ({bg['read_gb_per_s']:.1f} GB/s) | |")
print(f"| peak resident memory, one inspector query | {fi['peak_rss_mb']:.0f} MB | {bi['peak_rss_mb']:.0f} MB | {bi['peak_rss_mb']/fi['peak_rss_mb']:.2f}x |")
print()
print("Agreement with float32 (`genlens bench weights`: greedy continuations identical token for token; the lens's")
print("top-1 word at every layer of each prompt's last 10 positions):\n")
print("| model | prompts | greedy identical | lens top-1 identical |")
print("|---|---:|---:|---:|")
for label, name in (("agree-demo", "the demo's trained LM, its 171 held-out texts (first 100), 32 tokens"),
                    ("agree-shape", "Qwen3-0.6B shape, random weights, 16 random tokens, 16 tokens")):
    a = get(label, "bf16-vs-f32", need=False)
    if not a:
        continue
    print(f"| {name} | {a['prompts']} | {a['greedy_identical_prompts']}/{a['prompts']} "
          f"({100*a['greedy_identical_prompts']/a['prompts']:.0f}%) | {a['lens_top1_identical']}/{a['lens_cells']} "
          f"({100*a['lens_top1_identical']/a['lens_cells']:.1f}%) |")
PY
echo "low_memory.sh: JSON lines in $json" >&2
