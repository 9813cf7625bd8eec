// Glue only: passes the text fields to the filter compiled to WebAssembly and renders the JSON
// each view function returns. Every decision shown comes from warden-filter.
import init, { Session, config_schema, examples } from "./warden_playground.js";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const pre = (v) => `<pre>${esc(typeof v === "string" ? v : JSON.stringify(v, null, 2))}</pre>`;
let schema = null;
let exampleList = [];

// The schema node at a filter error path (`profiles.ops.tool_policies[0].operator`), for help text.
function schemaAt(path) {
  if (!schema || !path) return null;
  const resolve = (node) => {
    for (let i = 0; node && node.$ref && i < 10; i++) node = schema.$defs[node.$ref.replace("#/$defs/", "")];
    if (node && node.anyOf) node = node.anyOf.map(resolve).find((n) => n && n.type !== "null") || node;
    return node;
  };
  let node = resolve(schema);
  const parts = path.replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
  for (const part of parts) {
    if (!node) return null;
    if (node.properties && node.properties[part]) node = resolve(node.properties[part]);
    else if (node.items && /^\d+$/.test(part)) node = resolve(node.items);
    else if (node.additionalProperties && typeof node.additionalProperties === "object") node = resolve(node.additionalProperties);
    else if (node.oneOf || node.enum) return node;
    else return node.properties ? { description: "known keys: " + Object.keys(node.properties).join(", ") } : null;
  }
  return node;
}

function help(node) {
  if (!node) return "";
  const bits = [];
  if (node.description) bits.push(esc(node.description));
  const values = node.enum || (node.oneOf || []).map((o) => o.const ?? o.enum?.[0] ?? (o.required || [])[0]).filter(Boolean);
  if (values.length) bits.push("allowed: <code>" + esc(values.join(", ")) + "</code>");
  if (node.properties) bits.push("keys: <code>" + esc(Object.keys(node.properties).join(", ")) + "</code>");
  return bits.join("<br>");
}

function renderConfig(status) {
  const box = $("config-status");
  if (status.ok) {
    box.className = "status ok";
    box.innerHTML = `valid — profiles: ${esc(status.profiles.join(", "))} (default ${esc(status.default_profile)})`;
    $("config-help").innerHTML = "";
  } else {
    box.className = "status error";
    box.innerHTML = `<span class="path">${esc(status.path || "(top level)")}</span>: <span class="message">${esc(status.message)}</span>`;
    $("config-help").innerHTML = help(schemaAt(status.path));
  }
}

const skipped = (v) => (v && v.skipped ? `<p class="note skipped">${esc(v.skipped)}</p>` : null);
const rowText = (row, policy) => (row === null || row === undefined ? "profile default" : `row ${row}: <code>${esc(JSON.stringify(policy))}</code>`);

function renderTrust(v) {
  if (skipped(v)) return ($("trust").innerHTML = skipped(v));
  const ctx = v.context_trusted === false
    ? `<p>context: <span class="badge untrusted" id="context">untrusted</span> ${esc(v.untrusted_reason)}</p>`
    : `<p>context: <span class="badge trusted" id="context">trusted</span></p>`;
  const rows = v.results.map((r) => `<tr class="result" data-tool="${esc(r.tool)}" data-decision="${esc(r.decision)}" data-row="${r.row ?? ""}">
      <td>${esc(r.tool)}<br><span class="note">${esc(r.call_id)}</span></td>
      <td><span class="badge ${r.decision === "mark_as_trusted" ? "trusted" : "untrusted"}">${esc(r.decision)}</span> ${esc(r.reason)}</td>
      <td>${rowText(r.row, r.policy)}</td></tr>`).join("");
  $("trust").innerHTML = `<p class="note">profile ${esc(v.profile)}</p>` + ctx +
    (rows ? `<table><tr><th>tool</th><th>decision</th><th>decided by</th></tr>${rows}</table>` : `<p class="note">no tool results in the request</p>`);
}

function renderCalls(v) {
  if (skipped(v)) return ($("tool-calls").innerHTML = skipped(v));
  const rows = v.calls.map((c) => `<tr class="call" data-name="${esc(c.name)}" data-allowed="${c.allowed}" data-row="${c.row ?? ""}">
      <td>${esc(c.name)}<br><code>${esc(JSON.stringify(c.arguments))}</code></td>
      <td><span class="badge ${c.allowed ? "allowed" : "blocked"}">${c.allowed ? "allowed" : "blocked"}</span> ${esc(c.reason)}</td>
      <td>${rowText(c.row, c.policy)}</td></tr>`).join("");
  const batch = v.blocked_tools ? `<p id="blocked-tools">refused to the client: <b>${esc(v.blocked_tools.join(", "))}</b> — ${esc(v.block_reason)}</p>` : "";
  $("tool-calls").innerHTML = (rows ? `<table><tr><th>call</th><th>decision</th><th>decided by</th></tr>${rows}</table>` : `<p class="note">no tool calls in the response</p>`) + batch;
}

function renderRefusal(v) {
  if (skipped(v) && !v.request) return ($("refusal").innerHTML = skipped(v));
  let html = "";
  if (v.request) html += `<h3>the request is refused</h3><p>status <span id="request-status">${esc(v.request.status)}</span></p>${pre(v.request.body)}`;
  if (v.forwarded) html += `<h3>forwarded upstream to <code>${esc(v.forwarded.path)}</code></h3>${pre(v.forwarded.body)}`;
  if (v.response && v.response.body !== undefined) {
    const blocked = v.response["x-warden-blocked"] ? ` — x-warden-blocked: <b>${esc(v.response["x-warden-blocked"])}</b>` : "";
    html += `<h3>the client receives (status ${esc(v.response.status)})${blocked}</h3><div id="client-body">${pre(v.response.body)}</div>`;
  }
  $("refusal").innerHTML = html;
}

function renderToon(v) {
  if (skipped(v)) return ($("toon").innerHTML = skipped(v));
  const counts = v.tokens_before != null ? `<p id="toon-tokens">tokens ${esc(v.tokens_before)} → ${esc(v.tokens_after)}</p>` : "";
  const skip = v.skip_reason ? `<p class="note">not compressed: ${esc(v.skip_reason)}</p>` : "";
  const rows = v.results.map((r) => `<tr><td>${pre(r.before)}</td><td>${pre(r.after)}</td></tr>`).join("");
  $("toon").innerHTML = counts + skip + (rows ? `<table><tr><th>before</th><th>after</th></tr>${rows}</table>` : "");
}

function renderOptimisation(v) {
  if (skipped(v)) return ($("optimisation").innerHTML = skipped(v));
  const rule = v.rule === null ? "no rule fired" : `rule ${v.rule} fired: <code>${esc(JSON.stringify(v.policy))}</code>`;
  const cost = (c) => (c == null ? "—" : `$${Number(c).toFixed(6)}`);
  $("optimisation").innerHTML = `<p id="optimisation-rule">${rule}</p>
    <table><tr><th></th><th>model</th><th>cost</th></tr>
    <tr><td>asked for</td><td id="baseline-model">${esc(v.baseline_model ?? v.model)}</td><td>${cost(v.baseline_cost_usd ?? v.cost_usd)}</td></tr>
    <tr><td>sent to</td><td id="model">${esc(v.model)}</td><td>${cost(v.cost_usd)}</td></tr></table>
    <p class="note">tokens in ${esc(v.input_tokens)} / out ${esc(v.output_tokens)}${v.priced === false ? " — unpriced model, default price charged" : ""}</p>`;
}

function run() {
  const session = new Session($("config").value, $("path").value, $("headers").value, $("request").value, $("response").value);
  try {
    renderConfig(JSON.parse(session.config()));
    renderTrust(JSON.parse(session.trust()));
    renderCalls(JSON.parse(session.tool_calls()));
    renderRefusal(JSON.parse(session.refusal()));
    renderToon(JSON.parse(session.toon()));
    renderOptimisation(JSON.parse(session.optimisation()));
    $("record").textContent = JSON.stringify(JSON.parse(session.record()), null, 2);
  } finally {
    session.free();
  }
  document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
}

let timer = null;
const later = () => { clearTimeout(timer); timer = setTimeout(run, 250); };

function load(i) {
  const e = exampleList[i];
  if (!e) return;
  $("path").value = e.path;
  $("headers").value = e.headers;
  $("config").value = e.config;
  $("request").value = e.request;
  $("response").value = e.response;
  $("example-note").textContent = e.note;
  run();
}

await init();
schema = JSON.parse(config_schema());
exampleList = JSON.parse(examples());
exampleList.forEach((e, i) => $("example").insertAdjacentHTML("beforeend", `<option value="${i}">${esc(e.name)}</option>`));
$("example").addEventListener("change", (ev) => load(Number(ev.target.value)));
for (const id of ["config", "path", "headers", "request", "response"]) $(id).addEventListener("input", later);
// A file the user loads replaces the text box's content (read locally: nothing leaves the page).
for (const id of ["config", "request", "response"]) {
  $(`${id}-file`).addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    $(id).value = await file.text();
    run();
  });
}
load(0);
$("example").value = "0";
document.body.dataset.ready = "true";
