"""Reads `wrk --latency` output on stdin; prints "p50_us p99_us rps non2xx"."""
import re
import sys

text = sys.stdin.read()


def micros(percentile: str) -> float:
    m = re.search(r"^\s+" + percentile + r"%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        sys.exit(f"no {percentile}% latency in wrk output:\n{text}")
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{micros('50'):.0f} {micros('99'):.0f} {float(rps.group(1)) if rps else 0:.0f} {non2xx.group(1) if non2xx else 0}")
