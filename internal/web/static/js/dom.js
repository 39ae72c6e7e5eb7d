// DOM and formatting helpers shared by the pages.

import { getLang, t } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fmt(v, digits = 1) {
  if (v == null || Number.isNaN(v)) return "–";
  return new Intl.NumberFormat(getLang(), { maximumFractionDigits: digits }).format(v);
}

export function fmtInt(v) {
  return fmt(v, 0);
}

// fmtMs is the one way the dashboard writes a latency (tiles, tables,
// chart axes and legends, compare): "0.41 ms", "12.3 ms", "212 ms",
// "1.20 s", "12.5 s". Below 1 s it is milliseconds with three significant
// digits at most; from 1 s on, seconds.
export function fmtMs(v) {
  if (v == null || Number.isNaN(v)) return "–";
  const fixed = (x, d) => new Intl.NumberFormat(getLang(), { minimumFractionDigits: d, maximumFractionDigits: d }).format(x);
  const a = Math.abs(v);
  if (a >= 1000) return fixed(v / 1000, a >= 10000 ? 1 : 2) + " s";
  if (a === 0) return "0 ms";
  return fixed(v, a >= 100 ? 0 : a >= 10 ? 1 : 2) + " ms";
}

// fmtDur writes a plan's duration as the CLI and scenario files do: "20s",
// "1m30s", "500ms". It takes the API's words ("20s", kept as they are) or a
// number of nanoseconds (older servers sent Go's time.Duration as is).
export function fmtDur(v) {
  if (v == null || v === "") return "–";
  if (typeof v === "string") return v;
  let ns = Math.round(v);
  if (ns === 0) return "0s";
  if (ns < 1e9) {
    if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
    return `${+(ns / 1e6).toFixed(3)}ms`;
  }
  let out = "";
  const h = Math.floor(ns / 3.6e12);
  ns -= h * 3.6e12;
  const m = Math.floor(ns / 6e10);
  ns -= m * 6e10;
  const s = +(ns / 1e9).toFixed(3);
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  if (s || !out) out += `${s}s`;
  return out;
}

export function fmtTime(s) {
  if (!s) return "–";
  const d = new Date(s);
  return new Intl.DateTimeFormat(getLang(), { dateStyle: "medium", timeStyle: "medium" }).format(d);
}

export function fmtDuration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "–";
  seconds = Math.max(0, Math.round(seconds));
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m ${String(s).padStart(2, "0")}s` : `${s}s`;
}

export function runSeconds(run) {
  if (!run.started) return null;
  const end = run.ended ? new Date(run.ended) : new Date();
  return (end - new Date(run.started)) / 1000;
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, "data-status": status }, t(`status.${status}`));
}

export function errorBox(err) {
  return h("div", { class: "alert error", role: "alert" }, t("common.error", { msg: err.message || err }));
}

// rich renders a message in which `backticks` mark commands and flags:
// they become <code> that never wraps.
export function rich(text) {
  return text.split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}
