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

export function fmtMs(v) {
  if (v == null) return "–";
  if (v >= 1000) return fmt(v / 1000, 2) + " s";
  return fmt(v, v < 10 ? 2 : 1) + " ms";
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
