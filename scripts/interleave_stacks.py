#!/usr/bin/env python3
"""The same request to several running stacks in turn (the order flips every round), one
keep-alive connection each, so the machine's drifts hit every stack alike; prints each stack's
p50/p90 latency and its Envoy's CPU time per request (utime+stime of the Envoy process from
/proc, over the measured rounds), with Δ against the first stack.

    interleave_stacks.py ROUNDS SPEC.json NAME=BASE_URL=ENVOY_PID ...

SPEC is {"path", "headers": {…}, "body": <JSON value or string>} (scripts/interleave.py's
format). Start stacks with `target/release/warden_stack` (`scripts/bench.sh` shows how); the
Envoy pid is the one listening on BASE_URL's port (`ss -ltnp`). Exits non-zero on a non-2xx.
"""
import gc
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    rounds, spec = int(sys.argv[1]), json.load(open(sys.argv[2]))
    body = spec["body"]
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench", **spec.get("headers", {})}
    stacks = []
    for arg in sys.argv[3:]:
        name, url, pid = arg.split("=", 2)
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        stacks.append({"name": name, "conn": conn, "pid": int(pid), "times": []})
    for s in stacks:  # warm-up
        for _ in range(50):
            s["conn"].request("POST", spec["path"], data, headers)
            s["conn"].getresponse().read()
        s["cpu"] = cpu_seconds(s["pid"])
    gc.disable()
    for i in range(rounds):
        for s in stacks if i % 2 == 0 else stacks[::-1]:
            started = time.perf_counter_ns()
            s["conn"].request("POST", spec["path"], data, headers)
            reply = s["conn"].getresponse()
            reply.read()
            s["times"].append((time.perf_counter_ns() - started) / 1000)
            if not 200 <= reply.status < 300:
                sys.exit(f"{s['name']}: HTTP {reply.status}")
    base = None
    for s in stacks:
        cpu = (cpu_seconds(s["pid"]) - s["cpu"]) / rounds * 1e6
        p50, p90 = statistics.median(s["times"]), statistics.quantiles(s["times"], n=10)[-1]
        base = base or (p50, cpu)
        print(f"{s['name']:10} p50 {p50:7.0f} µs (Δ{p50 - base[0]:+6.0f})  p90 {p90:7.0f}  "
              f"Envoy CPU/request {cpu:6.0f} µs (Δ{cpu - base[1]:+6.0f})")


if __name__ == "__main__":
    main()
