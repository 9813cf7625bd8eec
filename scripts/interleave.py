#!/usr/bin/env python3
"""Paired latency of several requests, interleaved one by one on one keep-alive connection (the
order flips every round), so the machine's slow drifts hit every request alike. Each SPEC is a
JSON file: {"name", "path", "headers": {…}, "body": <JSON value or string>}. Prints one line per
spec: `name p50_us delta_p50_us p90_us` (Δ against the first spec); exits non-zero on a non-2xx.

    interleave.py BASE_URL ROUNDS SPEC.json...
"""
import gc
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def load(path: str) -> dict:
    spec = json.load(open(path))
    body = spec["body"]
    spec["bytes"] = (body if isinstance(body, str) else json.dumps(body)).encode()
    spec["headers"] = {"content-type": "application/json", **spec.get("headers", {})}
    return spec


def main() -> None:
    base, rounds, specs = sys.argv[1], int(sys.argv[2]), [load(p) for p in sys.argv[3:]]
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)
    times = {s["name"]: [] for s in specs}
    gc.disable()
    for i in range(rounds):
        for spec in specs if i % 2 == 0 else specs[::-1]:
            started = time.perf_counter_ns()
            conn.request("POST", spec["path"], spec["bytes"], spec["headers"])
            reply = conn.getresponse()
            reply.read()
            times[spec["name"]].append((time.perf_counter_ns() - started) / 1000)
            if not 200 <= reply.status < 300:
                sys.exit(f"{spec['name']}: HTTP {reply.status}")
    first = statistics.median(times[specs[0]["name"]])
    for spec in specs:
        ordered = sorted(times[spec["name"]])
        p50 = statistics.median(ordered)
        print(f"{spec['name']} {p50:.0f} {p50 - first:+.0f} {ordered[int(len(ordered) * 0.9)]:.0f}")


if __name__ == "__main__":
    main()
