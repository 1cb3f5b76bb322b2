// Helpers of both pages. Every string from the graph goes into the page through
// textContent, never as HTML, so a description or an item id holding markup shows as text.
"use strict";

const gc = {
  // An element with attributes and children (strings become text nodes).
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  async getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  },

  count(value) {
    return value === null || value === undefined ? "-" : Number(value).toLocaleString("en-US");
  },

  duration(seconds) {
    if (seconds === null || seconds === undefined) return "-";
    const s = Math.round(seconds);
    if (s < 60) return `${s}s`;
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = s % 60;
    return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(rest).padStart(2, "0")}s`;
  },

  time(iso) {
    if (!iso) return "-";
    return iso.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC");
  },

  status(value) {
    return gc.el("span", { class: `status status-${value}` }, value.replaceAll("_", " "));
  },

  bar(percent) {
    if (percent === null || percent === undefined) return gc.el("span", { class: "muted" }, "-");
    const fill = gc.el("span", { class: "fill" });
    fill.style.width = `${Math.min(100, percent).toFixed(1)}%`;
    return gc.el("span", { class: "progress" },
      gc.el("span", { class: "track" }, fill), `${percent.toFixed(1)}%`);
  },

  showError(error) {
    const box = document.getElementById("error");
    box.hidden = error === null;
    box.textContent = error === null ? "" : String(error.message || error);
  },

  stamp() {
    document.getElementById("updated").textContent =
      `updated ${new Date().toLocaleTimeString("en-GB")}`;
  },

  // Calls refresh() now and every `seconds`, one call at a time.
  every(seconds, refresh) {
    const tick = async () => {
      try {
        await refresh();
        gc.showError(null);
        gc.stamp();
      } catch (error) {
        gc.showError(error);
      }
      setTimeout(tick, seconds * 1000);
    };
    tick();
  },
};
