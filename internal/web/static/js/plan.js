// A run's plan in the words of `surge run`'s flags and scenario files:
// `model: open`, `rate: 200`, `duration: 20s`, stages as `30s:100,1m:100`.
// The API says it that way; older servers sent Go's encoding (`"model": 1`,
// durations in nanoseconds), which is translated here too.

import { fmtDur, fmtInt, fmt } from "./dom.js";

// Keys whose value is a duration wherever they appear in a plan.
const durationKeys = new Set(["duration", "timeout", "think", "think_max", "max_latency"]);

// wordsOf returns a copy of a plan (or any part of it) in CLI words.
export function wordsOf(v, key) {
  if (Array.isArray(v)) return v.map((x) => wordsOf(x, key));
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const lk = /^[A-Z][a-z]+$/.test(k) ? k.toLowerCase() : k; // Go field names: Duration, Target
      out[lk] = wordsOf(x, lk);
    }
    return out;
  }
  if (key === "model" && typeof v === "number") return v === 1 ? "open" : "closed";
  if (durationKeys.has(key) && typeof v === "number") return fmtDur(v);
  return v;
}

// loadOf is the offered load of a run: the summary's plan when the server
// sends one, else the run's plan. Every value is in CLI words.
export function loadOf(run, summary) {
  if (summary && summary.plan && summary.plan.model) return wordsOf(summary.plan);
  const plan = wordsOf((run && run.plan) || {});
  const load = { ...(plan.load || {}) };
  if (!load.model && run && run.model) load.model = run.model;
  if (plan.timeout && !load.timeout) load.timeout = plan.timeout;
  return load;
}

// stagesText writes stages as the --stages flag takes them.
export function stagesText(stages) {
  return (stages || []).map((s) => `${fmtDur(s.duration)}:${s.target}`).join(",");
}

// loadText is a short line for a load: "open · 200/s · 30s".
export function loadText(load) {
  if (!load || !load.model) return "–";
  const parts = [load.model];
  const staged = !!(load.stages && load.stages.length);
  if (load.model === "open" && (load.rate || !staged)) parts.push(`${fmt(load.rate || 0, 2)}/s`);
  else if (load.model !== "open" && (load.vus || !staged)) parts.push(`${fmtInt(load.vus || 0)} VUs`);
  if (staged) parts.push(stagesText(load.stages));
  else if (load.duration && load.duration !== "0s") parts.push(fmtDur(load.duration));
  if (load.iterations) parts.push(`${fmtInt(load.iterations)} req`);
  return parts.join(" · ");
}

// loadRows lists a load's settings, flag by flag, leaving out those unset.
export function loadRows(load) {
  const rows = [["model", load.model || "–"]];
  const set = (v) => v != null && v !== 0 && v !== "" && v !== "0s";
  // With stages the rate (or VUs) is only where the ramp starts.
  const staged = !!(load.stages && load.stages.length);
  if (set(load.rate) || (load.model === "open" && !staged)) rows.push(["rate", `${load.rate || 0}`]);
  if (set(load.vus) || (load.model === "closed" && !staged)) rows.push(["vus", `${load.vus || 0}`]);
  if (set(load.max_vus)) rows.push(["max_vus", `${load.max_vus}`]);
  if (set(load.duration)) rows.push(["duration", fmtDur(load.duration)]);
  if (load.stages && load.stages.length) rows.push(["stages", stagesText(load.stages)]);
  if (set(load.iterations)) rows.push(["requests", `${load.iterations}`]);
  if (set(load.timeout)) rows.push(["timeout", fmtDur(load.timeout)]);
  return rows;
}

// yaml writes a plan as a scenario file would: block maps and lists, with
// short lists of scalars and small maps of scalars on one line.
export function yaml(v, indent = "") {
  const scalar = (x) => {
    if (x == null) return "null";
    if (typeof x === "number" || typeof x === "boolean") return String(x);
    const s = String(x);
    return /^[A-Za-z0-9_./:@+-][A-Za-z0-9 _./:@+,%<>=-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !/: |\s$/.test(s) && isNaN(+s)
      ? s
      : JSON.stringify(s);
  };
  const isScalar = (x) => x == null || typeof x !== "object";
  const flow = (x) =>
    Array.isArray(x)
      ? `[${x.map(scalar).join(", ")}]`
      : `{${Object.entries(x).map(([k, y]) => `${k}: ${scalar(y)}`).join(", ")}}`;
  const small = (x) => {
    const vals = Array.isArray(x) ? x : Object.values(x);
    return vals.every(isScalar) && flow(x).length <= 72;
  };
  const lines = [];
  if (Array.isArray(v)) {
    for (const x of v) {
      if (isScalar(x) || small(x)) lines.push(`${indent}- ${isScalar(x) ? scalar(x) : flow(x)}`);
      else lines.push(`${indent}- ${yaml(x, indent + "  ").trimStart()}`);
    }
    return lines.join("\n");
  }
  for (const [k, x] of Object.entries(v || {})) {
    if (x == null || (Array.isArray(x) && !x.length) || (typeof x === "object" && !Array.isArray(x) && !Object.keys(x).length)) continue;
    if (isScalar(x)) lines.push(`${indent}${k}: ${scalar(x)}`);
    else if (small(x)) lines.push(`${indent}${k}: ${flow(x)}`);
    else lines.push(`${indent}${k}:\n${yaml(x, indent + "  ")}`);
  }
  return lines.join("\n");
}
