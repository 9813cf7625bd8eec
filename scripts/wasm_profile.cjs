// Where the filter's own wasm time goes, per function, in V8 with Envoy's compiler settings.
//
//   node --no-liftoff --no-wasm-lazy-compilation --cpu-prof --cpu-prof-dir=DIR \
//     scripts/wasm_profile.cjs MODULE.wasm PLUGIN_CONFIG.json REQUEST.json RESPONSE_FILE N [STREAM]
//   python3 scripts/wasm_profile_summary.py DIR/*.cpuprofile
//
// Function names come from the module's name section, which `make wasm` leaves out: build the
// module to profile with `WARDEN_WASM_NAMES=1 WARDEN_WASM_OUT=/tmp/named.wasm scripts/build-wasm.sh`.
//
// A minimal proxy-wasm host (ABI 0.2.1): it configures the module like Envoy does, then drives N
// exchanges through the same callbacks Envoy makes (context create, request headers and body,
// response headers and body, log, done, delete). The response body is RESPONSE_FILE's bytes,
// given in one callback, or with STREAM=sse one callback per SSE event (split at blank lines), or
// with STREAM=sse-whole as a stream given in one callback (any framing: WASM_PROFILE_CONTENT_TYPE
// sets the response's content type, e.g. application/vnd.amazon.eventstream for Bedrock).
// Host calls answer from plain JS maps and do no real work, so the profile is the module's own
// code. Envoy is not involved: this does not replace `make bench`, it says which functions the
// wasm share of Envoy's time is spent in (docs/efficiency.md §6).
"use strict";
const fs = require("fs");

const [modulePath, configPath, requestPath, responsePath, countArg, streamArg] = process.argv.slice(2);
const N = Number(countArg || 20000);
// "sse": one callback per event; "sse-whole": the whole stream in one callback, as Envoy hands
// over a burst that arrived at once.
const stream = streamArg === "sse" || streamArg === "sse-whole";
const enc = new TextEncoder();
const config = fs.readFileSync(configPath);
const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
const requestBody = enc.encode(typeof request.body === "string" ? request.body : JSON.stringify(request.body));
const responseBytes = fs.readFileSync(responsePath);
const events = [];
if (streamArg === "sse-whole") {
  events.push(responseBytes);
} else if (stream) {
  let start = 0;
  for (let i = 0; i + 1 < responseBytes.length; i++) {
    if (responseBytes[i] === 10 && responseBytes[i + 1] === 10) {
      events.push(responseBytes.subarray(start, i + 2));
      start = i + 2;
    }
  }
  if (start < responseBytes.length) events.push(responseBytes.subarray(start));
}

const OK = 0, NOT_FOUND = 1;
let inst, mem;
const u8 = () => new Uint8Array(mem.buffer);
const dv = () => new DataView(mem.buffer);
const str = (ptr, len) => Buffer.from(mem.buffer, ptr, len).toString("utf8");

// Copies `bytes` into memory the module allocates, and stores pointer and size at the out-params.
function give(bytes, retPtr, retSize) {
  const ptr = bytes.length ? inst.exports.proxy_on_memory_allocate(bytes.length) : 0;
  if (bytes.length) u8().set(bytes, ptr);
  dv().setUint32(retPtr, ptr, true);
  dv().setUint32(retSize, bytes.length, true);
  return OK;
}

function serializeMap(pairs) {
  const keys = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + keys.length * 8;
  for (const [k, v] of keys) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, keys.length, true);
  let at = 4;
  for (const [k, v] of keys) {
    view.setUint32(at, k.length, true);
    view.setUint32(at + 4, v.length, true);
    at += 8;
  }
  for (const [k, v] of keys) {
    out.set(k, at); at += k.length + 1;
    out.set(v, at); at += v.length + 1;
  }
  return out;
}

// Per-exchange state the host calls read and write.
let maps, buffers;
function freshExchange() {
  maps = {
    0: [[":method", "POST"], [":path", request.path], [":authority", "127.0.0.1"], [":scheme", "http"],
        ["content-type", "application/json"], ["authorization", "Bearer sk-bench"],
        ["content-length", String(requestBody.length)], ["user-agent", "wrk"],
        ["x-forwarded-proto", "http"], ["x-request-id", "5f1c2b8e-2b2a-4f1e-9d4e-0a1b2c3d4e5f"],
        ...Object.entries(request.headers || {})],
    2: [[":status", "200"], ["content-type", process.env.WASM_PROFILE_CONTENT_TYPE || (stream ? "text/event-stream" : "application/json")],
        ["date", "Mon, 07 Dec 2026 02:52:54 GMT"], ["x-envoy-upstream-service-time", "0"]],
  };
  buffers = { 0: requestBody, 1: new Uint8Array(0), 7: config };
}
freshExchange();

let nextMetric = 1;
const metricIds = new Map();
const env = {
  proxy_log: () => OK,
  proxy_set_tick_period_milliseconds: () => OK,
  proxy_get_buffer_bytes: (type, start, max, retPtr, retSize) => {
    const b = buffers[type];
    if (!b) return NOT_FOUND;
    return give(b.subarray(start, start + max), retPtr, retSize);
  },
  proxy_set_buffer_bytes: (type, start, size, ptr, len) => {
    const b = buffers[type] || new Uint8Array(0);
    const replacement = u8().slice(ptr, ptr + len);
    const out = new Uint8Array(b.length - Math.min(size, b.length - start) + len);
    out.set(b.subarray(0, start), 0);
    out.set(replacement, start);
    out.set(b.subarray(start + size), start + len);
    buffers[type] = out;
    return OK;
  },
  proxy_set_property: () => OK,
  proxy_get_property: (ptr, len, retPtr, retSize) => {
    const path = str(ptr, len).split("\0").join(".");
    if (path === "response.code_details") return give(enc.encode("via_upstream"), retPtr, retSize);
    return NOT_FOUND;
  },
  proxy_get_shared_data: () => NOT_FOUND,
  proxy_set_shared_data: () => OK,
  proxy_register_shared_queue: (ptr, len, retId) => { dv().setUint32(retId, 1, true); return OK; },
  proxy_resolve_shared_queue: () => NOT_FOUND,
  proxy_enqueue_shared_queue: () => OK,
  proxy_dequeue_shared_queue: () => NOT_FOUND,
  proxy_get_current_time_nanoseconds: (ret) => {
    dv().setBigUint64(ret, process.hrtime.bigint() + 1_765_000_000_000_000_000n, true);
    return OK;
  },
  proxy_get_header_map_pairs: (type, retPtr, retSize) => give(serializeMap(maps[type] || []), retPtr, retSize),
  proxy_get_header_map_value: (type, kPtr, kLen, retPtr, retSize) => {
    const key = str(kPtr, kLen).toLowerCase();
    const hit = (maps[type] || []).find(([k]) => k === key);
    return hit ? give(enc.encode(hit[1]), retPtr, retSize) : NOT_FOUND;
  },
  proxy_replace_header_map_value: (type, kPtr, kLen, vPtr, vLen) => {
    const key = str(kPtr, kLen).toLowerCase();
    const list = (maps[type] || []).filter(([k]) => k !== key);
    list.push([key, str(vPtr, vLen)]);
    maps[type] = list;
    return OK;
  },
  proxy_add_header_map_value: (type, kPtr, kLen, vPtr, vLen) => {
    (maps[type] = maps[type] || []).push([str(kPtr, kLen).toLowerCase(), str(vPtr, vLen)]);
    return OK;
  },
  proxy_remove_header_map_value: (type, kPtr, kLen) => {
    const key = str(kPtr, kLen).toLowerCase();
    maps[type] = (maps[type] || []).filter(([k]) => k !== key);
    return OK;
  },
  proxy_set_header_map_pairs: () => OK,
  proxy_define_metric: (type, ptr, len, retId) => {
    const name = str(ptr, len);
    if (!metricIds.has(name)) metricIds.set(name, nextMetric++);
    dv().setUint32(retId, metricIds.get(name), true);
    return OK;
  },
  proxy_increment_metric: () => OK,
  proxy_record_metric: () => OK,
  proxy_send_local_response: () => { throw new Error("the module sent a local reply: check the request and config"); },
  proxy_continue_stream: () => OK,
  proxy_close_stream: () => OK,
  proxy_done: () => OK,
  proxy_get_status: () => NOT_FOUND,
  proxy_set_effective_context: () => OK,
  proxy_http_call: () => 2,
  proxy_grpc_call: () => 2,
  proxy_grpc_stream: () => 2,
  proxy_grpc_send: () => 2,
  proxy_grpc_cancel: () => OK,
  proxy_grpc_close: () => OK,
  proxy_call_foreign_function: () => NOT_FOUND,
};
const wasi = {
  random_get: (ptr, len) => { for (let i = 0; i < len; i++) u8()[ptr + i] = (Math.random() * 256) | 0; return 0; },
  environ_sizes_get: (count, size) => { dv().setUint32(count, 0, true); dv().setUint32(size, 0, true); return 0; },
  environ_get: () => 0,
  fd_write: (fd, iovs, n, written) => {
    let total = 0;
    for (let i = 0; i < n; i++) total += dv().getUint32(iovs + i * 8 + 4, true);
    dv().setUint32(written, total, true);
    return 0;
  },
  proc_exit: (code) => { throw new Error(`proc_exit(${code})`); },
};

// Counts the host calls of the measured exchanges (WASM_PROFILE_COUNT=1 prints them per exchange).
const calls = new Map();
let counting = false;
for (const [name, fn] of Object.entries(env)) {
  env[name] = (...args) => {
    if (counting) calls.set(name, (calls.get(name) || 0) + 1);
    return fn(...args);
  };
}
const compiled = new WebAssembly.Module(fs.readFileSync(modulePath));
inst = new WebAssembly.Instance(compiled, { env, wasi_snapshot_preview1: wasi });
mem = inst.exports.memory;
const x = inst.exports;
if (x._initialize) x._initialize();
x.proxy_on_context_create(1, 0);
if (!x.proxy_on_vm_start(1, 0)) throw new Error("vm start failed");
if (!x.proxy_on_configure(1, config.length)) throw new Error("configure failed: see the plugin config");

function exchange(id) {
  freshExchange();
  x.proxy_on_context_create(id, 1);
  x.proxy_on_request_headers(id, maps[0].length, 0);
  x.proxy_on_request_body(id, requestBody.length, 1);
  x.proxy_on_response_headers(id, maps[2].length, 0);
  if (stream) {
    events.forEach((event, i) => {
      buffers[1] = event;
      x.proxy_on_response_body(id, event.length, i === events.length - 1 ? 1 : 0);
    });
  } else {
    buffers[1] = responseBytes;
    x.proxy_on_response_body(id, responseBytes.length, 1);
  }
  x.proxy_on_log(id);
  x.proxy_on_done(id);
  x.proxy_on_delete(id);
}

for (let i = 0; i < 2000; i++) exchange(2 + i); // warm-up
counting = process.env.WASM_PROFILE_COUNT === "1";
// WASM_PROFILE_EVICT_MB=4: write that many MiB between two exchanges (timed apart from them), so
// each exchange starts with the caches holding something else, as in Envoy, where Envoy's own
// code, the kernel and other requests run between two calls into the module.
const evict = process.env.WASM_PROFILE_EVICT_MB ? new Uint8Array(Number(process.env.WASM_PROFILE_EVICT_MB) << 20) : null;
let spent = 0n;
for (let i = 0; i < N; i++) {
  if (evict) for (let j = 0; j < evict.length; j += 64) evict[j]++;
  const started = process.hrtime.bigint();
  exchange(100000 + i);
  spent += process.hrtime.bigint() - started;
}
const us = Number(spent) / 1000 / N;
const body = new TextDecoder().decode(buffers[1]);
console.log(`${us.toFixed(2)} µs per exchange (${N} exchanges${stream ? `, ${events.length} events each` : ""}); ` +
  `upstream :path ${maps[0].find(([k]) => k === ":path")[1]}; last response body ${body.length} bytes`);
if (counting) {
  const perExchange = [...calls].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${(n / N).toFixed(1)}`);
  console.log(`host calls per exchange: ${perExchange.join(", ")}`);
}
