// The run page: facts, loaders, a throughput chart, processes and the failed items.
"use strict";

const runId = decodeURIComponent(location.pathname.replace(/^\/runs\//, ""));
const apiBase = `/api/runs/${encodeURIComponent(runId)}`;
const failures = { page: 1, q: "" };
const samples = []; // [seconds since the page opened, items processed + failed]
const opened = Date.now();
const SAMPLES_KEPT = 120;

function fact(name, value) {
  return gc.el("tr", {}, gc.el("th", {}, name), gc.el("td", {}, value));
}

function renderRun(data) {
  const run = data.run;
  document.title = `${run.run_id}: graph-checkpoint`;
  document.getElementById("run-id").textContent = run.run_id;
  document.getElementById("run-status").replaceChildren(gc.status(run.display_status));
  const process = `pid ${run.pid ?? "?"} on ${run.host ?? "?"}` +
    (run.process_alive === false ? " (gone)" : "") +
    (run.resumes ? `, resumed ${run.resumes} time${run.resumes === 1 ? "" : "s"}` : "");
  const rows = [
    fact("description", run.description || "-"),
    fact("config", run.config === null ? "-" : JSON.stringify(run.config)),
    fact("started", gc.time(run.started_at)),
    fact("last heartbeat", gc.time(run.updated_at)),
    fact("finished", gc.time(run.finished_at)),
    fact("duration", `active ${gc.duration(run.active_seconds)}, wall ${gc.duration(run.duration_seconds)}`),
    fact("throughput", run.throughput_per_second === null ? "-" :
      `${gc.count(run.throughput_per_second)} items/s`),
    fact("process", process),
  ];
  if (run.error) rows.push(fact("error", gc.el("span", { class: "error-text" }, run.error)));
  if (data.resume) rows.push(fact("resume with", gc.el("code", {}, data.resume)));
  document.querySelector("#facts tbody").replaceChildren(...rows);

  document.querySelector("#loaders tbody").replaceChildren(...run.loaders.map((loader) =>
    gc.el("tr", { "data-loader": loader.loader },
      gc.el("td", {}, loader.loader),
      gc.el("td", {}, gc.status(loader.status)),
      gc.el("td", { class: "num processed" }, gc.count(loader.processed)),
      gc.el("td", { class: "num failed" }, gc.count(loader.failed)),
      gc.el("td", { class: "num" }, gc.count(loader.skipped)),
      gc.el("td", { class: "num" }, gc.count(loader.total)),
      gc.el("td", {}, gc.bar(loader.percent)),
      gc.el("td", {}, loader.eta_seconds === null ? "-" : gc.duration(loader.eta_seconds)))));

  document.querySelector("#participants tbody").replaceChildren(...data.participants.map((p) =>
    gc.el("tr", {},
      gc.el("td", {}, p.name), gc.el("td", {}, p.role), gc.el("td", {}, gc.status(p.state)),
      gc.el("td", {}, p.host ?? "?"), gc.el("td", { class: "num" }, p.pid ?? "?"),
      gc.el("td", { class: "num" }, gc.count(p.items)),
      gc.el("td", { class: "num" }, gc.count(p.failed)),
      gc.el("td", {}, gc.time(p.heartbeat_at)))));

  samples.push([(Date.now() - opened) / 1000, run.processed + run.failed]);
  if (samples.length > SAMPLES_KEPT) samples.shift();
  drawChart();
}

// Items per second between consecutive samples, as an SVG line: drawn here, nothing fetched.
function drawChart() {
  const svg = document.getElementById("chart");
  const ns = "http://www.w3.org/2000/svg";
  const width = 600, height = 160, pad = 28;
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const [t0, n0] = samples[i - 1], [t1, n1] = samples[i];
    if (t1 > t0) rates.push([t1, Math.max(0, (n1 - n0) / (t1 - t0))]);
  }
  const shape = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const parts = [shape("line", { x1: pad, y1: height - pad, x2: width - 4, y2: height - pad, class: "axis" })];
  if (rates.length === 0) {
    parts.push(shape("text", { x: pad, y: height / 2, class: "muted" }, "measuring..."));
  } else {
    const t0 = rates[0][0], span = Math.max(1, rates[rates.length - 1][0] - t0);
    const top = Math.max(1, ...rates.map((r) => r[1]));
    const x = (t) => pad + ((t - t0) / span) * (width - pad - 8);
    const y = (v) => height - pad - (v / top) * (height - 2 * pad);
    const points = rates.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    parts.push(shape("polyline", { points, class: "rate" }));
    parts.push(shape("text", { x: 2, y: pad - 8, class: "muted small" }, `${Math.round(top).toLocaleString("en-US")}/s`));
    parts.push(shape("text", { x: width - 120, y: height - 6, class: "muted small" },
      `last ${Math.round(rates[rates.length - 1][1]).toLocaleString("en-US")}/s`));
  }
  svg.replaceChildren(...parts);
}

function renderFailures(data) {
  document.getElementById("failures-total").textContent =
    `${gc.count(data.total)} ${data.search ? "matching" : "in all"}`;
  document.querySelector("#failures tbody").replaceChildren(...data.failures.map((f) =>
    gc.el("tr", {},
      gc.el("td", {}, f.loader),
      gc.el("td", { class: "item-id" }, String(f.item_id)),
      gc.el("td", { class: "num" }, f.attempts),
      gc.el("td", { class: "error-text" }, `${f.error_type || "Error"}: ${f.error || ""}`),
      gc.el("td", {}, gc.time(f.updated_at)))));
  document.getElementById("no-failures").hidden = data.failures.length > 0;
  document.getElementById("page").textContent = `page ${data.page}`;
  document.getElementById("prev").disabled = data.page <= 1;
  document.getElementById("next").disabled = data.page * data.page_size >= data.total;
}

async function refreshFailures() {
  const params = new URLSearchParams({ page: failures.page });
  if (failures.q) params.set("q", failures.q);
  renderFailures(await gc.getJSON(`${apiBase}/failures?${params}`));
}

async function refresh() {
  renderRun(await gc.getJSON(apiBase));
  await refreshFailures();
}

function goFailures(change) {
  Object.assign(failures, change);
  refreshFailures().then(() => gc.showError(null), gc.showError);
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  goFailures({ page: 1, q: document.getElementById("q").value.trim() });
});
document.getElementById("prev").addEventListener("click", () => goFailures({ page: failures.page - 1 }));
document.getElementById("next").addEventListener("click", () => goFailures({ page: failures.page + 1 }));

gc.every(2, refresh);
