// eddy dashboard: polls /_eddy/api/* once a second and redraws. No dependencies.
"use strict";

const history = { depth: [], age: [], throughput: [], latency: [] };
const HISTORY = 120;
let lastCopied = null;
let lastTime = null;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmtTime = (ms) => new Date(ms).toLocaleTimeString();
const fmtBytes = (n) => n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function push(series, value) {
  series.push(value);
  if (series.length > HISTORY) series.shift();
}

function draw(canvas, series, color) {
  // Draw at the size the canvas is shown at, in device pixels, so lines and labels stay
  // sharp instead of being stretched from the canvas's default size.
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...series);
  ctx.strokeStyle = "#243242";
  ctx.beginPath(); ctx.moveTo(0, h - 1); ctx.lineTo(w, h - 1); ctx.stroke();
  ctx.fillStyle = "#8b9bb0";
  ctx.font = "11px system-ui";
  ctx.fillText(String(Math.round(max * 10) / 10), 4, 12);
  if (series.length < 2) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  series.forEach((v, i) => {
    const x = (i / (HISTORY - 1)) * w;
    const y = h - 2 - (v / max) * (h - 16);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

function renderQueues(queues) {
  const rows = queues.map((q) => `<tr data-queue="${esc(q.name)}">
    <td>${esc(q.name)}${q.is_dead_letter_queue ? ' <span class="step failed">DLQ</span>' : ""}</td>
    <td class="num">${q.visible}</td><td class="num">${q.not_visible}</td><td class="num">${q.delayed}</td>
    <td class="num">${q.oldest_age_seconds}</td>
    <td>${q.dead_letter_queue ? `→ ${esc(q.dead_letter_queue)} after ${q.max_receive_count}` : ""}</td>
    <td><a href="${esc(q.url)}">${esc(q.url)}</a></td></tr>`);
  $("queues").querySelector("tbody").innerHTML = rows.join("");
  const dlqs = queues.filter((q) => q.is_dead_letter_queue).map((q) => q.name);
  const select = $("dlq-select");
  const current = select.value;
  const options = dlqs.map((n) => `<option${n === current ? " selected" : ""}>${esc(n)}</option>`).join("");
  if (select.innerHTML !== options) select.innerHTML = options;
}

function renderRecent(recent) {
  $("recent").querySelector("tbody").innerHTML = recent.map((j) => {
    const start = j.steps.length ? j.steps[0].at_ms : 0;
    const steps = j.steps.map((s) => `<span class="step ${esc(s.step)}" title="${esc(s.detail || "")}">${esc(s.step)} +${s.at_ms - start} ms</span>`).join("");
    const trace = `/_eddy/api/trace?bucket=${encodeURIComponent(j.bucket)}&key=${encodeURIComponent(j.key)}`;
    return `<tr data-key="${esc(j.key)}"><td><a class="trace" href="${esc(trace)}" title="the trace of this file">${esc(j.bucket)}/${esc(j.key)}</a></td><td class="num">${fmtBytes(j.size)}</td><td>${steps}</td></tr>`;
  }).join("");
}

async function refreshDlq() {
  const queue = $("dlq-select").value;
  const body = $("dlq").querySelector("tbody");
  $("redrive").disabled = $("purge").disabled = !queue;
  if (!queue) { body.innerHTML = ""; return; }
  const data = await api(`/_eddy/api/messages?queue=${encodeURIComponent(queue)}&limit=50`);
  if (!data.messages.length) {
    body.innerHTML = `<tr><td colspan="5" class="empty">no messages in ${esc(queue)}</td></tr>`;
    return;
  }
  body.innerHTML = data.messages.map((m) => `<tr class="dlq-message" data-message-id="${esc(m.message_id)}">
    <td>${esc(m.message_id)}</td><td class="num">${m.receive_count}</td>
    <td>${esc((m.dead_letter_source_arn || "").split(":").pop())}</td><td>${fmtTime(m.sent_ms)}</td>
    <td class="body">${esc(m.body.length > 400 ? m.body.slice(0, 400) + "…" : m.body)}</td></tr>`).join("");
}

async function refreshObjects() {
  const bucket = $("bucket-select").value;
  if (!bucket) return;
  const prefix = $("prefix").value;
  const data = await api(`/_eddy/api/objects?bucket=${encodeURIComponent(bucket)}&prefix=${encodeURIComponent(prefix)}`);
  $("objects").querySelector("tbody").innerHTML = data.objects.map((o) => {
    const href = `/_eddy/api/download?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(o.key)}`;
    return `<tr><td>${esc(o.key)}</td><td class="num">${fmtBytes(o.size)}</td><td>${fmtTime(o.last_modified_ms)}</td><td><a href="${href}" download>download</a></td></tr>`;
  }).join("");
}

function renderPipeline(pipeline) {
  $("functions").querySelector("tbody").innerHTML = pipeline.functions.map((f) =>
    `<tr><td>${esc(f.name)}</td><td>${esc(f.kind)}</td><td class="num">${f.timeout_seconds}</td><td class="num">${f.memory_mb}</td><td>${esc(f.destination)}</td><td>${esc(f.source)}</td></tr>`
  ).join("");
  $("mappings").querySelector("tbody").innerHTML = pipeline.mappings.map((m) =>
    `<tr><td>${esc(m.queue)}</td><td>${esc(m.function)}</td><td class="num">${m.batch_size}</td><td class="num">${m.maximum_batching_window_seconds}</td><td>${esc(m.state)}</td><td>${esc(m.source)}</td><td>${esc(m.uuid)}</td></tr>`
  ).join("");
}

async function tick() {
  try {
    const data = await api("/_eddy/api/overview");
    $("status").textContent = "live";
    $("status").className = "pill ok";
    $("endpoint").textContent = data.endpoint;
    $("copied").textContent = data.files_copied;
    $("failed").textContent = data.records_failed;
    $("latency").textContent = data.latency.samples ? `${data.latency.p50_ms} / ${data.latency.p99_ms} ms` : "–";
    const work = data.queues.filter((q) => !q.is_dead_letter_queue);
    const dlqTotal = data.queues.filter((q) => q.is_dead_letter_queue).reduce((a, q) => a + q.visible + q.not_visible, 0);
    $("dlq-total").textContent = dlqTotal;
    const now = performance.now();
    const rate = lastCopied === null ? 0 : Math.max(0, (data.files_copied - lastCopied) / ((now - lastTime) / 1000));
    lastCopied = data.files_copied; lastTime = now;
    push(history.depth, work.reduce((a, q) => a + q.visible + q.not_visible, 0));
    push(history.age, Math.max(0, ...work.map((q) => q.oldest_age_seconds)));
    push(history.throughput, rate);
    push(history.latency, data.latency.p99_ms);
    draw($("chart-depth"), history.depth, "#4fb3ff");
    draw($("chart-age"), history.age, "#ffb454");
    draw($("chart-throughput"), history.throughput, "#52d39b");
    draw($("chart-latency"), history.latency, "#c792ea");
    renderQueues(data.queues);
    renderPipeline(data.pipeline);
    renderRecent(data.recent);
    const buckets = $("bucket-select");
    const chosen = buckets.value;
    const options = data.buckets.map((b) => `<option${b === chosen ? " selected" : ""}>${esc(b)}</option>`).join("");
    if (buckets.innerHTML !== options) buckets.innerHTML = options;
    await refreshDlq();
    await refreshObjects();
  } catch (error) {
    $("status").textContent = "eddy is not answering";
    $("status").className = "pill down";
  }
}

async function act(action) {
  const queue = $("dlq-select").value;
  if (!queue) return;
  if (action === "purge" && !confirm(`Delete every message in ${queue}?`)) return;
  const result = await api(`/_eddy/api/${action}?queue=${encodeURIComponent(queue)}`, {
    method: "POST",
    headers: { "x-eddy-dashboard": "1" },
  });
  $("dlq-result").textContent = action === "redrive" ? `moved ${result.moved} message(s)` : `purged ${result.purged} message(s)`;
  await tick();
}

$("redrive").addEventListener("click", () => act("redrive"));
$("purge").addEventListener("click", () => act("purge"));
$("dlq-select").addEventListener("change", refreshDlq);
$("bucket-select").addEventListener("change", refreshObjects);
$("prefix").addEventListener("input", refreshObjects);
tick();
setInterval(tick, 1000);
