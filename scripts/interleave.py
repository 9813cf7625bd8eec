#!/usr/bin/env python3
"""Paired latency of one request body sent to several paths, interleaved request by request on
one keep-alive connection (the order flips every round), so slow drifts of the machine hit every
path alike. Prints one line per path: `path p50_us delta_p50_us p90_us` (Δ against the first).

    interleave.py BASE_URL BODY_FILE ROUNDS PATH... [--header 'name: value']...
"""
import gc
import http.client
import statistics
import sys
import time
import urllib.parse


def main() -> None:
    args = sys.argv[1:]
    headers = {"content-type": "application/json"}
    while "--header" in args:
        i = args.index("--header")
        name, _, value = args[i + 1].partition(":")
        headers[name.strip()] = value.strip()
        del args[i : i + 2]
    base, body_file, rounds, paths = args[0], args[1], int(args[2]), args[3:]
    url = urllib.parse.urlsplit(base)
    body = open(body_file, "rb").read().strip()
    conn = http.client.HTTPConnection(url.hostname, url.port)
    times = {p: [] for p in paths}
    gc.disable()
    for i in range(rounds):
        for path in paths if i % 2 == 0 else paths[::-1]:
            started = time.perf_counter_ns()
            conn.request("POST", path, body, headers)
            reply = conn.getresponse()
            reply.read()
            times[path].append((time.perf_counter_ns() - started) / 1000)
            if reply.status != 200:
                sys.exit(f"{path}: HTTP {reply.status}")
    first = statistics.median(times[paths[0]])
    for path in paths:
        ordered = sorted(times[path])
        p50 = statistics.median(ordered)
        print(f"{path} {p50:.0f} {p50 - first:+.0f} {ordered[int(len(ordered) * 0.9)]:.0f}")


if __name__ == "__main__":
    main()
