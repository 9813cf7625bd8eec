"""Start cost of one Envoy configuration: time to ready and resident memory, idle and after load.

    python3 scripts/envoy_start.py ENVOY CONFIG_YAML [--concurrency N] [--runs K]
        [--settle SECONDS] [--load LUA_SCRIPT] [--load-seconds S] [--path PATH]

Starts `ENVOY -c CONFIG_YAML` K times (the config's admin and listener ports should be 0, as the
e2e harness renders them, so runs never collide with the stacks the bench keeps up). Each run:
the time from spawning the process to the first 200 from the admin `/ready` (polled every 2 ms),
then RSS (`VmRSS` of the Envoy process, which includes every wasm VM's linear memory, the module
copies V8 keeps and the compiled code) after SETTLE idle seconds, then — with --load — RSS after
`wrk -c4` has sent the Lua script's request to PATH for S seconds. Prints one JSON object:
`{"ready_s": median, "ready_all": [...], "rss_idle_mib": median, "rss_load_mib": median,
"configured": the filter's configure log line or null, "configure_ms_max": the slowest VM's
configure time over all runs or null}`.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


def get(url: str, timeout: float = 1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except Exception:  # not up yet: connection refused, 503 while initialising
        return None, b""


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def one_run(args, run: int) -> dict:
    work = tempfile.mkdtemp(prefix="warden-start-")
    admin_file = os.path.join(work, "admin.address")
    log_path = os.path.join(work, "envoy.log")
    base_id = (os.getpid() % 100_000) * 100 + 50 + run
    cmd = [args.envoy, "-c", args.config, "--concurrency", str(args.concurrency), "--base-id", str(base_id),
           "--disable-hot-restart", "--log-level", "info", "--admin-address-path", admin_file]
    with open(log_path, "wb") as log:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    try:
        admin = None
        ready_s = None
        while time.monotonic() - t0 < 60:
            if proc.poll() is not None:
                sys.exit(f"Envoy exited during startup:\n{open(log_path).read()[-4000:]}")
            if admin is None and os.path.exists(admin_file):
                text = open(admin_file).read().strip()
                admin = f"http://{text}" if text else None
            if admin is not None:
                status, _ = get(admin + "/ready", timeout=0.5)
                if status == 200:
                    ready_s = time.monotonic() - t0
                    break
            time.sleep(0.002)
        if ready_s is None:
            sys.exit("Envoy not ready after 60 s")
        time.sleep(args.settle)
        out = {"ready_s": ready_s, "rss_idle_mib": rss_mib(proc.pid)}
        if args.load:
            _, body = get(admin + "/listeners?format=json")
            ports = [l["local_address"]["socket_address"]["port_value"]
                     for l in json.loads(body)["listener_statuses"]]
            url = f"http://127.0.0.1:{ports[0]}{args.path}"
            subprocess.run(["wrk", "-t1", "-c4", f"-d{args.load_seconds}s", "-s", args.load, url],
                           check=True, stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            out["rss_load_mib"] = rss_mib(proc.pid)
        log_text = open(log_path, errors="replace").read()
        # One line per VM (Envoy runs concurrency + 2 of them: base, main thread, each worker).
        out["configure_ms"] = [int(ms) for ms in re.findall(r"configured with \d+ profile\(s\) in (\d+) ms", log_text)]
        m = re.search(r"configured with \d+ profile\(s\) in \d+ ms \(tokenizer [a-z ]*\)", log_text)
        out["configured"] = m.group(0) if m else None
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("envoy")
    p.add_argument("config")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--load")
    p.add_argument("--load-seconds", type=int, default=3)
    p.add_argument("--path", default="/v1/openai/chat/completions")
    args = p.parse_args()
    runs = [one_run(args, i) for i in range(args.runs)]
    result = {
        "ready_s": statistics.median(r["ready_s"] for r in runs),
        "ready_all": [round(r["ready_s"], 3) for r in runs],
        "rss_idle_mib": statistics.median(r["rss_idle_mib"] for r in runs),
        "rss_load_mib": statistics.median(r["rss_load_mib"] for r in runs) if args.load else None,
        "configured": runs[-1]["configured"],
        "configure_ms_max": max((ms for r in runs for ms in r["configure_ms"]), default=None),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
