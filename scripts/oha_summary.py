"""Reads `oha --output-format json` on stdin; prints "p50_us p99_us rps non2xx" like wrk_summary.py."""
import json
import sys

res = json.load(sys.stdin)
pct = res["latencyPercentiles"]  # seconds, keys "p50", "p99"
if pct.get("p50") is None:
    sys.exit(f"no latency percentiles in oha output (no responses?): {res.get('errorDistribution')}")
codes = res.get("statusCodeDistribution", {})
non2xx = sum(n for code, n in codes.items() if not code.startswith("2"))
# Requests still in flight when -z ends are reported as "aborted due to deadline": not failures.
non2xx += sum(n for err, n in res.get("errorDistribution", {}).items() if "deadline" not in err)
print(f"{pct['p50'] * 1e6:.0f} {pct['p99'] * 1e6:.0f} {res['summary']['requestsPerSec']:.0f} {non2xx}")
