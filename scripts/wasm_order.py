#!/usr/bin/env python3
"""The functions requests run, in the order they first run, from V8 CPU profiles of
scripts/wasm_profile.cjs (`node --cpu-prof`): one symbol of the name section per line, as
tools/passive-data's `order` module reads them.

    wasm_order.py OUT.txt PROFILE_DIR...

Profiles are read in the order given; a function already listed keeps its first place. Samples
taken while the module starts or is configured (under `_initialize`, `proxy_on_vm_start`,
`proxy_on_configure`) are left out: that code runs once per VM, not per request.
"""
import glob
import json
import sys

ONCE = {"_initialize", "_start", "proxy_on_vm_start", "proxy_on_configure"}


def first_run(path: str) -> list:
    profile = json.load(open(path))
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    order, seen = [], set()
    for sample in profile["samples"]:
        chain, at = [], sample
        while at in nodes:
            chain.append(nodes[at]["callFrame"])
            at = parent.get(at)
        names = [f["functionName"] for f in reversed(chain) if f.get("url", "").startswith("wasm://")]
        if any(n in ONCE for n in names):
            continue
        for name in names:
            if name and name not in seen:
                seen.add(name)
                order.append(name)
    return order


def main() -> None:
    out, keys, seen = sys.argv[1], [], set()
    for directory in sys.argv[2:]:
        for path in sorted(glob.glob(f"{directory}/*.cpuprofile")):
            for name in first_run(path):
                if name not in seen:
                    seen.add(name)
                    keys.append(name)
    with open(out, "w") as f:
        f.write("# The functions requests run first, in the order they first run: tools/passive-data puts them\n"
                "# first in dist/warden.wasm (docs/efficiency.md §6). Made by scripts/wasm-order.sh; names that\n"
                "# no longer match anything are ignored, so a stale file costs speed, never correctness.\n")
        f.write("\n".join(keys) + "\n")
    sys.stderr.write(f"{len(keys)} functions -> {out}\n")


if __name__ == "__main__":
    main()
