#!/usr/bin/env python3
"""The README's "Intervening on the demo" figures, measured on a demo workspace's held-out
queries (WS/world/heldout.jsonl) through the genlens command line:

  1. where the answer is decided: `trace --contrast` (B = a held-out query of another
     category), the first layer at which a compression cell, and a thought cell, moves the
     embedding half way to B's (effect >= 0.5);
  2. which input word the embedding leans on: `attribute --mode both`, how often the
     top-scored token is the query's cue word (its emotion word) for the generative
     embedding and for mean pooling (emotion categories);
  3. the tuned vs the logit lens: a word of the expected answer among the compression
     tokens' top-10 at each layer (`lens --json`, with and without `--tuned`);
  4. arithmetic: `decode --expr "Q - mean(anger) + mean(joy)"` (the category centroids as
     sums of held-out rows) decodes to a joy answer.

  /usr/bin/python3 tests/bench/demo_intervene.py WS [--genlens build/genlens] [--per-category 3]

Needs a tuned lens (`genlens tuned-lens train --model WS/model --adapter WS/run --data
WS/responses.jsonl --field question` writes it beside the run's newest checkpoint, where
this looks; --tuned DIR otherwise). Prints Markdown tables."""
import glob
import argparse
import json
import os
import re
import subprocess
import sys


def run(genlens, args):
    r = subprocess.run([genlens] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"demo_intervene.py: genlens {' '.join(args[:1])} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout[r.stdout.index("{"):])


def words(text):
    return set(re.findall(r"[a-z]+", text.lower()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ws")
    ap.add_argument("--genlens", default=os.path.join(os.path.dirname(__file__), "../../build/genlens"))
    ap.add_argument("--per-category", type=int, default=3)
    ap.add_argument("--tuned", help="tuned lens directory (default: the newest WS/run/checkpoint-*/tuned-lens)")
    a = ap.parse_args()
    ws, g = a.ws, a.genlens
    M, A = ["--model", f"{ws}/model"], ["--adapter", f"{ws}/run"]
    rows = [json.loads(l) for l in open(f"{ws}/world/heldout.jsonl") if l.strip()]
    world = json.load(open(os.path.join(os.path.dirname(__file__), "../../assets/demo/world.json")))
    cats = [c["name"] for c in world["categories"]]
    sample = []
    for c in cats:
        sample += [r for r in rows if r["category"] == c][: a.per_category]
    first_of = {c: next(r for r in rows if r["category"] == c) for c in cats}
    found = sorted(glob.glob(f"{ws}/run/checkpoint-*/tuned-lens"), key=lambda p: int(p.split("checkpoint-")[1].split("/")[0]))
    tuned = a.tuned or (found[-1] if found else f"{ws}/run/tuned-lens")
    if not os.path.exists(f"{tuned}/tuned_lens.json"):
        sys.exit(f"demo_intervene.py: no tuned lens at {tuned} (see --help)")

    # 1. trace
    decided = {"compression": [], "thought": []}
    strongest = {"compression": None, "thought": None}  # per layer, summed over queries
    n_layers = None
    for r in sample:
        other = cats[(cats.index(r["category"]) + 1) % len(cats)]
        t = run(g, ["trace"] + M + A + ["--query", r["question"], "--contrast", first_of[other]["question"],
                                         "--no-input-positions", "--json", "--quiet"])
        n_layers = t["layers"][-1]
        for kind in decided:
            best = [max([e for k, e in zip(t["kinds"], t["effect"][li]) if k == kind and e is not None] or [0.0])
                    for li in range(len(t["layers"]))]
            strongest[kind] = best if strongest[kind] is None else [x + y for x, y in zip(strongest[kind], best)]
            decided[kind].append(next((t["layers"][li] for li, b in enumerate(best) if b >= 0.5), None))
    print(f"1. Where the answer is decided ({len(sample)} held-out queries, {a.per_category} per category, each "
          f"against a held-out query of the next category; layers 0..{n_layers}): the strongest single cell's effect "
          f"at each layer, averaged over the queries, and how many queries have a cell past 0.5\n")
    print("| strongest single cell, mean effect | " + " | ".join(f"layer {l}" for l in range(n_layers + 1)) +
          " | a cell >= 0.5 |")
    print("|---|" + "---:|" * (n_layers + 2))
    for kind in decided:
        past = sum(1 for f in decided[kind] if f is not None)
        print(f"| {kind} tokens | " + " | ".join(f"{v / len(sample):.2f}" for v in strongest[kind]) +
              f" | {past}/{len(sample)} |")

    # 2. attribution, emotion categories: is the top token the query's emotion word?
    emotion_slots = {"anger": "angry", "joy": "happy", "fear": "scared", "sadness": "sad"}
    hits = {"generative": 0, "mean": 0}
    n = 0
    for r in sample:
        slot = emotion_slots.get(r["category"])
        if not slot:
            continue
        cues = {w.lower() for w in world["slots"][slot]["all"]} & words(r["question"])
        j = run(g, ["attribute"] + M + A + ["--query", r["question"], "--mode", "both", "--json", "--quiet"])
        n += 1
        for mode in hits:
            top = max(j[mode]["tokens"], key=lambda t: t["score"])
            piece = re.sub(r"^[\u0120\u2581 ]+", "", top["piece"]).lower()
            if piece and any(c == piece or (len(piece) >= 3 and c.startswith(piece)) for c in cues):
                hits[mode] += 1
    print(f"\n2. The top-attributed input token is the query's emotion word ({n} emotion queries; integrated "
          f"gradients, target = the query's own embedding): generative {hits['generative']}/{n}, "
          f"mean pooling {hits['mean']}/{n}")

    # 3. tuned vs logit lens hit rate per layer
    def hit_rates(extra):
        per_layer = None
        for r in sample:
            j = run(g, ["lens"] + M + A + ["--query", r["question"], "--positions", "compression", "--top-k", "10",
                                          "--json", "-q"] + extra)
            res = j["results"][0]
            want = {w.lower() for w in r["signature"]}
            if per_layer is None:
                per_layer = [0] * len(res["layers"])
            for li, row in enumerate(res["cells"]):
                top = set()
                for cell in row:
                    top |= words(" ".join(t["text"] for t in cell["top"]))
                per_layer[li] += bool(top & want)
        return [h / len(sample) for h in per_layer]

    logit, tun = hit_rates([]), hit_rates(["--tuned", tuned])
    print(f"\n3. A signature word of the expected answer (angry, joy, Tessel, prison, ...) among the compression "
          f"tokens' top-10 ({len(sample)} held-out queries)\n")
    print("| layer | " + " | ".join(str(l) for l in range(len(logit))) + " |")
    print("|---|" + "---:|" * len(logit))
    print("| logit lens | " + " | ".join(f"{v:.0%}" for v in logit) + " |")
    print("| tuned lens | " + " | ".join(f"{v:.0%}" for v in tun) + " |")

    # 4. arithmetic: an anger query minus the anger centroid plus the joy centroid (the
    # centroids as sums of held-out rows), and minus one other anger query plus one joy query.
    idx = {c: [i for i, r in enumerate(rows) if r["category"] == c] for c in ("anger", "joy")}
    joy_sig = {w.lower() for w in next(c for c in world["categories"] if c["name"] == "joy")["signature"]}
    anger_q = [r for r in sample if r["category"] == "anger"]
    quote = lambda t: "'" + t.replace("'", "\\'") + "'"
    result = {"centroids": [0, 0], "one query each": [0, 0]}
    for r in anger_q:
        centroid = quote(r["question"])
        for c, sign in (("anger", "-"), ("joy", "+")):
            k = 1.0 / len(idx[c])
            centroid += "".join(f" {sign} {k:.6f}*row:{i}" for i in idx[c])
        a_other = next(x for x in rows if x["category"] == "anger" and x["question"] != r["question"])
        pair = f"{quote(r['question'])} - {quote(a_other['question'])} + {quote(first_of['joy']['question'])}"
        for name, expr in (("centroids", centroid), ("one query each", pair)):
            j = run(g, ["decode"] + M + A + ["--expr", expr, "--corpus", f"{ws}/world/heldout.jsonl", "--field",
                                             "question", "--top-k", "1", "--json", "-q"])
            res = j["results"][0]
            result[name][0] += bool(words(res["from_embedding"]["text"]) & joy_sig)
            result[name][1] += rows[res["neighbors"][0]["index"]]["category"] == "joy"
    print(f"\n4. Arithmetic from {len(anger_q)} anger queries: decoded to a joy answer (a joy signature word) / "
          f"nearest held-out query a joy one\n")
    print("| expression | decodes to joy | nearest is joy |")
    print("|---|---:|---:|")
    print(f"| Q - mean(anger rows) + mean(joy rows) | {result['centroids'][0]}/{len(anger_q)} | "
          f"{result['centroids'][1]}/{len(anger_q)} |")
    print(f"| Q - another anger query + a joy query | {result['one query each'][0]}/{len(anger_q)} | "
          f"{result['one query each'][1]}/{len(anger_q)} |")


if __name__ == "__main__":
    main()
