#!/usr/bin/env python3
"""Self time of the wasm functions in a V8 CPU profile (`node --cpu-prof`, see
scripts/wasm_profile.cjs), heaviest first, names demangled, and the same summed by crate (the
part of a Rust path before its first `::`). JavaScript (the stand-in host) is left out of the
shares; its total is printed.

    wasm_profile_summary.py PROFILE.cpuprofile [TOP]
"""
import collections
import json
import re
import sys


LEGACY_ESCAPES = {"$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*", "$LP$": "(", "$RP$": ")",
                  "$C$": ",", "$u20$": " ", "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "$u7b$": "{",
                  "$u7d$": "}", "$u3b$": ";", "$u2b$": "+", "$u22$": '"', "..": "::"}


def demangle(name: str) -> str:
    """Rust's legacy mangling (`_ZN…17h<hash>E`) to a path; other names as they are."""
    if not name.startswith("_ZN"):
        return name
    parts, at = [], 3
    while at < len(name) and name[at].isdigit():
        end = at
        while name[end].isdigit():
            end += 1
        size = int(name[at:end])
        parts.append(name[end:end + size])
        at = end + size
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    path = "::".join(parts)
    for code, text in LEGACY_ESCAPES.items():
        path = path.replace(code, text)
    return path.lstrip("_")


def crate_of(name: str) -> str:
    name = re.sub(r"^<+", "", name)
    name = re.sub(r"^(impl|&mut |&)\s*", "", name)
    return name.split("::", 1)[0] if "::" in name else name


def main() -> None:
    profile = json.load(open(sys.argv[1]))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    names = {n["id"]: n["callFrame"]["functionName"] or "(anonymous)" for n in profile["nodes"]}
    wasm = {n["id"] for n in profile["nodes"] if n["callFrame"].get("url", "").startswith("wasm://")}
    self_us = collections.Counter()
    js_us = 0
    for sample, delta in zip(profile["samples"], profile["timeDeltas"]):
        if sample in wasm:
            self_us[demangle(names[sample])] += delta
        else:
            js_us += delta
    total = sum(self_us.values())
    print(f"{total / 1000:.0f} ms in wasm functions, {js_us / 1000:.0f} ms elsewhere (host, compiler, idle)")
    for name, us in self_us.most_common(top):
        print(f"{100 * us / total:5.1f} %  {name[:150]}")
    by_crate = collections.Counter()
    for name, us in self_us.items():
        by_crate[crate_of(name)] += us
    print("\nby crate:")
    for name, us in by_crate.most_common(25):
        print(f"{100 * us / total:5.1f} %  {name[:100]}")


if __name__ == "__main__":
    main()
