// The runs page: one page of runs, newest first, refreshed every few seconds.
"use strict";

const state = { page: 1, status: "", loader: "" };

function readLocation() {
  const params = new URLSearchParams(location.search);
  state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  state.status = params.get("status") || "";
  state.loader = params.get("loader") || "";
  document.getElementById("status").value = state.status;
  document.getElementById("loader").value = state.loader;
}

function writeLocation() {
  const params = new URLSearchParams();
  if (state.page > 1) params.set("page", state.page);
  if (state.status) params.set("status", state.status);
  if (state.loader) params.set("loader", state.loader);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function loaderCell(loaders) {
  const cell = gc.el("td", { class: "loaders" });
  for (const loader of loaders) {
    const eta = loader.eta_seconds === null ? null : `eta ${gc.duration(loader.eta_seconds)}`;
    cell.append(gc.el("div", { class: "loader" },
      gc.el("span", { class: "name" }, loader.loader), gc.bar(loader.percent),
      eta && gc.el("span", { class: "muted small" }, eta)));
  }
  return cell;
}

function row(run) {
  const link = gc.el("a", { href: `/runs/${encodeURIComponent(run.run_id)}` }, run.run_id);
  return gc.el("tr", { "data-run-id": run.run_id },
    gc.el("td", {}, link),
    gc.el("td", {}, gc.status(run.display_status)),
    loaderCell(run.loaders),
    gc.el("td", { class: "num processed" }, gc.count(run.processed)),
    gc.el("td", { class: "num failed" }, gc.count(run.failed)),
    gc.el("td", { class: "num" }, gc.count(run.skipped)),
    gc.el("td", { class: "num" }, gc.count(run.throughput_per_second)),
    gc.el("td", {}, gc.time(run.started_at)),
    gc.el("td", {}, gc.duration(run.duration_seconds)),
    gc.el("td", { class: "description" }, run.description || ""));
}

async function refresh() {
  const params = new URLSearchParams({ page: state.page });
  if (state.status) params.set("status", state.status);
  if (state.loader) params.set("loader", state.loader);
  const data = await gc.getJSON(`/api/runs?${params}`);
  document.querySelector("#runs tbody").replaceChildren(...data.runs.map(row));
  document.getElementById("empty").hidden = data.runs.length > 0;
  document.getElementById("page").textContent = `page ${data.page}`;
  document.getElementById("prev").disabled = data.page <= 1;
  document.getElementById("next").disabled = !data.has_more;
}

function go(change) {
  Object.assign(state, change);
  writeLocation();
  refresh().then(() => gc.showError(null), gc.showError);
}

document.getElementById("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  go({
    page: 1,
    status: document.getElementById("status").value,
    loader: document.getElementById("loader").value.trim(),
  });
});
document.getElementById("prev").addEventListener("click", () => go({ page: state.page - 1 }));
document.getElementById("next").addEventListener("click", () => go({ page: state.page + 1 }));

readLocation();
gc.every(3, refresh);
