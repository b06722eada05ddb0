#!/usr/bin/python3
"""core/'s include layering: every `#include "core/..."` points down one fixed order.

    python3 tests/include_order.py [CORE_DIR]

A folder may include its own files and those of any folder on a lower layer. Folders
on the same layer may include each other, but never in a cycle (data/ including
analysis/ and analysis/ including data/, directly or through a third folder). A folder
that is in no layer is an error too, so a new folder gets its place here first.
Each problem is printed as file:line with the two folders; the exit status is 1 if
there is any. Standard library only (run with the system python).
"""
import pathlib
import re
import sys

# Lowest first, numbered from 1 as docs/ARCHITECTURE.md §3 numbers them. Why this order:
# util/ holds the bare helpers everything uses (errors, hashing), io/ the file formats.
# runtime/ (jobs, metrics log), dist/ (collectives) and optim/ (the optimizer) know
# nothing of text or models. text/ (tokenizers, chat
# templates, prompts) comes before model/ (the decoder LM, generation, pretraining);
# teach/ (teacher embeddings) reads models; gen/ (the adapter, its trainer and encoder)
# uses all of these. data/ (responses, training data, files to encode), analysis/ (lens,
# eval, maps) and interop/ (official checkpoints) build on gen/; runs/ (a training run
# from files, as `genlens train` makes it, and studies over many runs) uses them all;
# demo/ builds the demo workspace from everything.
LAYERS = [
    ["util", "io"],
    ["runtime", "dist", "optim"],
    ["text"],
    ["model"],
    ["teach"],
    ["gen"],
    ["data", "analysis", "interop"],
    ["runs"],
    ["demo"],
]
RANK = {folder: i for i, layer in enumerate(LAYERS, 1) for folder in layer}
INCLUDE = re.compile(r'^\s*#\s*include\s+"core/([^/"]+)/[^"]*"')


def layer_name(folder):
    return "/".join(LAYERS[RANK[folder] - 1])


def find_cycle(edges):
    """One cycle in {folder: {other: where}} as a list of folders, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def check(core):
    problems = []
    sideways = {}  # folder -> {other folder on the same layer: first "file:line"}
    files = sorted(p for p in core.rglob("*") if p.suffix in (".h", ".cpp") and p.is_file())
    if not files:
        return [f"{core}: no .h or .cpp files found (wrong directory?)"]
    for path in files:
        rel = path.relative_to(core)
        if len(rel.parts) < 2:
            continue  # core/pch.h: system headers only
        src = rel.parts[0]
        where_file = f"core/{rel.as_posix()}"
        if src not in RANK:
            problems.append(f"{where_file}: folder core/{src}/ is in no layer (add it to LAYERS in {__file__})")
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) == src:
                continue
            dst = m.group(1)
            where = f"{where_file}:{n}"
            if dst not in RANK:
                problems.append(f"{where}: includes core/{dst}/, a folder in no layer")
            elif RANK[dst] > RANK[src]:
                problems.append(f"{where}: core/{src}/ (layer {RANK[src]}: {layer_name(src)}) includes "
                                f"core/{dst}/ (layer {RANK[dst]}: {layer_name(dst)}), a higher layer")
            elif RANK[dst] == RANK[src]:
                sideways.setdefault(src, {}).setdefault(dst, where)
    cycle = find_cycle(sideways)
    if cycle:
        steps = [f"core/{a}/ -> core/{b}/ ({sideways[a][b]})" for a, b in zip(cycle, cycle[1:])]
        problems.append("folders on one layer include each other in a cycle: " + "; ".join(steps))
    return problems


def main():
    core = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "core")
    problems = check(core)
    for p in problems:
        print(p)
    if problems:
        print(f"include order: {len(problems)} problem(s); the order, lowest first: "
              + " -> ".join("/".join(layer) for layer in LAYERS))
        return 1
    print("include order: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
