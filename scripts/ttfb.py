"""Time to first byte and total time of a streamed (chunked SSE) response, one request at a time.

    python3 scripts/ttfb.py URL LUA_SCRIPT SECONDS

Reads method, headers and body from the wrk Lua script the bench writes (so both tools send the
same request), then for SECONDS sends it over one keep-alive connection, one request at a time.
TTFB is from the last byte of the request sent to the first byte of the body (the first SSE
event) read; total is to the end of the chunked body. Prints
"ttfb_p50_us ttfb_p99_us total_p50_us total_p99_us requests non2xx".
"""
import json
import re
import socket
import statistics
import sys
import time
from urllib.parse import urlsplit


def request_bytes(url: str, lua: str) -> bytes:
    text = open(lua).read()
    method = re.search(r'wrk\.method = "([A-Z]+)"', text).group(1)
    headers = dict(re.findall(r'wrk\.headers\["([^"]+)"\] = "([^"]*)"', text))
    body = json.loads(re.search(r"wrk\.body = (.*)$", text, re.M).group(1)).encode()
    parts = urlsplit(url)
    head = [f"{method} {parts.path} HTTP/1.1", f"host: {parts.netloc}", f"content-length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def one(sock: socket.socket, req: bytes):
    sock.sendall(req)
    sent = time.perf_counter()
    buf = b""
    ttfb = None
    length = None  # content-length, when the response is not chunked (a refusal)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed mid-response")
        buf += chunk
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            continue
        if ttfb is None and len(buf) > end + 4:
            ttfb = time.perf_counter() - sent
        if length is None:
            m = re.search(rb"\r\ncontent-length: *(\d+)", buf[:end], re.I)
            length = int(m.group(1)) if m else -1
        done = len(buf) >= end + 4 + length if length >= 0 else buf.endswith(b"\r\n0\r\n\r\n")
        if done:
            status = int(buf.split(b" ", 2)[1])
            return ttfb if ttfb is not None else time.perf_counter() - sent, time.perf_counter() - sent, status


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    url, lua, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    req = request_bytes(url, lua)
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ttfbs, totals, bad = [], [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        ttfb, total, status = one(sock, req)
        ttfbs.append(ttfb * 1e6)
        totals.append(total * 1e6)
        bad += status // 100 != 2
    print(f"{pct(ttfbs, 50):.0f} {pct(ttfbs, 99):.0f} {pct(totals, 50):.0f} {pct(totals, 99):.0f} {len(totals)} {bad}")


if __name__ == "__main__":
    main()
