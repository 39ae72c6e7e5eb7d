// Time-series charts on uPlot (vendor/uplot, loaded as the global uPlot).
// The x axis is seconds since the run started, so runs line up in compare.
// A null value is a gap: an interval in which no request completed has no
// latency, and the line breaks there instead of diving to zero.

import { fmtInt, fmtMs, h } from "./dom.js";
import { t } from "./i18n.js";

export const colors = {
  rps: "#2563eb",
  errors: "#dc2626",
  p50: "#16a34a",
  p95: "#d97706",
  p99: "#9333ea",
  vus: "#0891b2",
  offered: "#64748b",
  a: "#94a3b8",
  b: "#2563eb",
};

const height = 220;

// width follows the chart's box, so a phone-sized window gets a
// phone-sized chart (the box never grows with the chart: .chart > div is
// 100 % of a grid cell that may shrink below its content).
function width(el) {
  return Math.max(160, Math.floor(el.clientWidth || el.parentElement.clientWidth || 600));
}

// Chart draws series over the elapsed-seconds axis.
//   series: [{label, color, dash}]
//   opts.unit: "ms" formats the y axis and the legend as latencies; "%",
//     "B", "B/s" and "/s" as a monitor series in that unit.
//   opts.sync: a cursor sync key shared by the charts that line up.
//   opts.x: "rate" for a curve over the offered rate (a capacity search's
//     steps: the x axis in /s, each step a point) instead of elapsed time.
//   opts.marks: vertical lines at x values, [{x, label, color, kind}] (setMarks
//     changes them): a capacity search's knee and max rate.
export class Chart {
  constructor(el, series, opts = {}) {
    this.el = el;
    el.chart = this; // for tests and curious users: el.chart.data
    this.series = series;
    this.data = [[], ...series.map(() => [])];
    const u = window.uPlot;
    const yFmt = unitFormat(opts.unit);
    // Charts of one page that share a sync key move their cursors together:
    // the load charts and the monitor charts under them.
    const cursor = { drag: { x: false, y: false } };
    if (opts.sync) cursor.sync = { key: opts.sync };
    const rate = opts.x === "rate";
    const xFmt = rate ? (v) => formatAxis(v) + "/s" : (v) => v + "s";
    this.marks = opts.marks || [];
    const yRange = opts.unit === "%" ? (self, min, max) => [0, max > 100 ? max * 1.05 : 100] : (self, min, max) => [0, max > 0 ? max * 1.1 : 1];
    this.plot = new u(
      {
        width: width(el),
        height,
        scales: { x: { time: false }, y: { range: yRange } },
        axes: [
          { stroke: "#64748b", grid: { stroke: "#e2e8f0" }, values: (self, ticks) => ticks.map(xFmt) },
          {
            stroke: "#64748b",
            grid: { stroke: "#e2e8f0" },
            size: axisSize(opts.unit),
            values: (self, ticks) => ticks.map((v) => yFmt(v)),
          },
        ],
        legend: { show: true, live: false },
        cursor,
        hooks: { draw: [(u) => this.drawMarks(u)] },
        series: [
          { label: opts.xLabel || (rate ? "/s" : "s"), value: (self, v) => (v == null ? "–" : rate ? formatAxis(v) + "/s" : v.toFixed(0) + "s") },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            spanGaps: rate, // a curve joined with another has no point at every rate
            points: { show: rate, size: 6 },
            value: (self, v) => (v == null ? "–" : yFmt(v)),
          })),
        ],
      },
      this.data,
      el,
    );
    // Follow the box, not only the window: the grid reflows the cards when
    // the window narrows, and a new width must redraw the canvas.
    this.lastWidth = width(el);
    this.onResize = () => {
      const w = width(this.el);
      if (w !== this.lastWidth) {
        this.lastWidth = w;
        this.plot.setSize({ width: w, height });
      }
    };
    this.observer = new ResizeObserver(() => this.onResize());
    this.observer.observe(el);
    window.addEventListener("resize", this.onResize);
  }

  // drawMarks draws the vertical marks over the plot, each labelled at
  // its top.
  drawMarks(u) {
    if (!this.marks.length) return;
    const ctx = u.ctx;
    const { top, height: h } = u.bbox;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    for (const m of this.marks) {
      if (m.x == null || !(m.x > 0)) continue;
      const x = Math.round(u.valToPos(m.x, "x", true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.lineWidth = devicePixelRatio;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + h);
      ctx.stroke();
      const w = ctx.measureText(m.label).width;
      // The label sits right of its line, or left when it would leave the plot.
      const lx = x + 4 + w > u.bbox.left + u.bbox.width ? x - 4 - w : x + 4;
      ctx.fillText(m.label, lx, top + 2 + (m.row || 0) * 14 * devicePixelRatio);
    }
    ctx.restore();
  }

  // setMarks replaces the vertical marks.
  setMarks(marks) {
    this.marks = marks || [];
    // For tests and curious users: "knee:120,max:200".
    this.el.dataset.marks = this.marks.filter((m) => m.x > 0).map((m) => `${m.kind || m.label}:${m.x}`).join(",");
    this.plot.redraw(false);
  }

  // set replaces the data: xs and one array per series.
  set(xs, ...ys) {
    // Copies: push appends to these, and charts may be given shared columns.
    this.data = [xs.slice(), ...ys.map((y) => y.slice())];
    this.plot.setData(this.data);
    this.el.dataset.points = xs.length; // for tests and curious users
  }

  // push appends one point.
  push(x, ...ys) {
    this.data[0].push(x);
    ys.forEach((y, i) => this.data[i + 1].push(y));
    this.plot.setData(this.data);
    this.el.dataset.points = this.data[0].length;
  }

  destroy() {
    this.observer.disconnect();
    window.removeEventListener("resize", this.onResize);
    this.plot.destroy();
  }
}

function formatAxis(v) {
  if (v == null) return "";
  const a = Math.abs(v);
  if (a >= 10000) return (v / 1000).toFixed(0) + "k";
  if (a >= 1000) return (v / 1000).toFixed(1) + "k";
  if (a >= 10 || v === 0) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

// latencyOf is a point's latency figure, or null (a gap) for an interval in
// which no request completed: older servers wrote 0 there.
function latencyOf(p, key) {
  return p.requests > 0 && p[key] != null ? p[key] : null;
}

// columns turns timeline points into chart columns.
export function columns(points) {
  const cols = { x: [], rps: [], offered: [], errors: [], dropped: [], p50: [], p95: [], p99: [], vus: [] };
  for (const p of points) {
    cols.x.push(p.elapsed_s);
    cols.rps.push(p.rps);
    cols.offered.push(p.offered_rps ?? null);
    cols.errors.push(errorsPerSecond(p));
    cols.dropped.push(p.dropped ?? 0);
    cols.p50.push(latencyOf(p, "p50"));
    cols.p95.push(latencyOf(p, "p95"));
    cols.p99.push(latencyOf(p, "p99"));
    cols.vus.push(p.max_vus ?? p.vus);
  }
  return cols;
}

// row is one point as the columns hold it, for Chart.push.
export function row(p) {
  const c = columns([p]);
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v[0]]));
}

export function errorsPerSecond(p) {
  // rps = requests / interval length, so errors scale the same way.
  return p.requests > 0 ? (p.errors * p.rps) / p.requests : 0;
}

// axisSize is the width of the y axis: fixed for the load charts, and
// for byte units as wide as the longest label ("953.7 MiB/s") needs.
function axisSize(unit) {
  if (unit === "ms") return 64;
  if (unit !== "B" && unit !== "B/s") return 56;
  return (self, values) => Math.max(56, 16 + 7 * Math.max(0, ...(values || []).map((v) => String(v).length)));
}

// unitFormat is the y axis and legend format of a chart in unit.
export function unitFormat(unit) {
  switch (unit) {
    case "ms":
      return fmtMs;
    case "%":
      return (v) => (v == null ? "–" : formatAxis(v) + "%");
    case "B":
      return fmtBytes;
    case "B/s":
      return (v) => (v == null ? "–" : fmtBytes(v) + "/s");
    case "/s":
      return (v) => (v == null ? "–" : formatAxis(v) + "/s");
  }
  return formatAxis;
}

// fmtBytes writes a byte count in binary units, as the reports do:
// "512 B", "1.4 GiB".
export function fmtBytes(v) {
  if (v == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let n = v;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

// ---- target monitors ----
// A timeline point's monitors are {"<monitor>": {"<series key>": value|null}}
// (docs/summary.md); the series key is the metric name, then its labels:
// process_rss_bytes{name="gunicorn",pid="12"}.

// monitorUnits are the units of the monitor charts, in the order they
// follow; i18n has each one's title (monitor.unit.<unit>).
export const monitorUnits = ["%", "B", "B/s", "/s", ""];

// unitOfKey guesses a series key's unit from its metric name, for a key
// the summary's monitors[].series does not list.
export function unitOfKey(key) {
  const name = key.split("{")[0];
  if (name.includes("percent")) return "%";
  if (name.endsWith("_bytes_per_second")) return "B/s";
  if (name.endsWith("_bytes")) return "B";
  if (name.endsWith("_per_second")) return "/s";
  return "";
}

// monitorKeyOf is the series key of a monitors[].series entry.
export function monitorKeyOf(s) {
  const names = Object.keys(s.labels || {}).sort();
  if (!names.length) return s.name;
  return s.name + "{" + names.map((n) => `${n}="${String(s.labels[n]).replaceAll('"', '\\"')}"`).join(",") + "}";
}

// parseKey splits a series key into its name and labels.
export function parseKey(key) {
  const i = key.indexOf("{");
  if (i < 0) return { name: key, labels: {} };
  const labels = {};
  for (const m of key.slice(i + 1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2].replaceAll('\\"', '"');
  return { name: key.slice(0, i), labels };
}

// monitorGroups lists the monitor charts of a run: one per monitor and
// unit, each with its series keys, from the monitors in the points (and
// the units in summary.monitors when there). Monitors are in the summary's
// order, then any others by name.
export function monitorGroups(points, monitors) {
  const units = {};
  const order = [];
  for (const m of monitors || []) {
    order.push(m.name);
    units[m.name] = {};
    for (const s of m.series || []) units[m.name][monitorKeyOf(s)] = s.unit || "";
  }
  const keys = {};
  for (const p of points) {
    for (const [mon, vals] of Object.entries(p.monitors || {})) {
      if (!keys[mon]) keys[mon] = new Set();
      for (const k of Object.keys(vals || {})) keys[mon].add(k);
    }
  }
  const names = [...order.filter((n) => keys[n]), ...Object.keys(keys).filter((n) => !order.includes(n)).sort()];
  const out = [];
  for (const mon of names) {
    const byUnit = {};
    for (const k of [...keys[mon]].sort()) {
      const u = units[mon]?.[k] ?? unitOfKey(k);
      (byUnit[u] = byUnit[u] || []).push(k);
    }
    for (const u of [...monitorUnits, ...Object.keys(byUnit).filter((u) => !monitorUnits.includes(u)).sort()]) {
      if (byUnit[u]) out.push({ monitor: mon, unit: u, keys: byUnit[u] });
    }
  }
  return out;
}

// monitorColumn is one monitor series over the points; null is a gap (a
// failed scrape, or a point without the series).
export function monitorColumn(points, mon, key) {
  return points.map((p) => {
    const v = p.monitors?.[mon]?.[key];
    return v == null ? null : v;
  });
}

// groupSignature says which monitor charts points need, to tell when a
// live point brings a series the charts lack.
export function groupSignature(groups) {
  return groups.map((g) => g.monitor + "\u0000" + g.unit + "\u0000" + g.keys.join("\u0001")).join("\u0002");
}

export const monitorPalette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#d97706", "#0891b2", "#64748b", "#a16207"];

// monitorSeriesLabel words a monitor series for a legend: "host CPU",
// "gunicorn[4242] RSS", "network rx eth0".
export function monitorSeriesLabel(key) {
  const { name, labels } = parseKey(key);
  const wkey = `monitor.series.${name}`;
  let words = t(wkey);
  if (words === wkey) words = name;
  const who = (labels.name || "") + (labels.pid ? `[${labels.pid}]` : "");
  const rest = Object.entries(labels)
    .filter(([k]) => k !== "name" && k !== "pid")
    .map(([, v]) => v)
    .sort();
  return [who, words, ...rest].filter(Boolean).join(" ");
}


// ---- timing phases ----
// An HTTP endpoint's summary row has phases_ms: {phase: {p50, p95, p99,
// max}} (docs/summary.md) and protocols: {"HTTP/1.1": n, …}; a WebSocket
// or gRPC endpoint (method WS, WS-OPEN, GRPC), and every endpoint of a run
// recorded before Surge measured phases, has neither.

// phaseNames are the phases in the order of the terminal and HTML
// reports' columns: blocked … receive as a request goes through them, then
// queued (open model only: due, no VU yet), which came before them all.
export const phaseNames = ["blocked", "connect", "tls", "send", "wait", "receive", "queued"];

// phaseStats are the figures each phase has, the run page's choice.
export const phaseStats = ["p50", "p95", "p99", "max"];

export const phaseColors = {
  queued: "#a8a29e",
  blocked: "#f472b6",
  connect: "#0891b2",
  tls: "#9333ea",
  send: "#2563eb",
  wait: "#d97706",
  receive: "#16a34a",
};

// hasPhases says whether an endpoint row has timing phases.
export function hasPhases(e) {
  return !!e && !!e.phases_ms && typeof e.phases_ms === "object" && Object.keys(e.phases_ms).length > 0;
}

// phaseValue is one phase's figure (ms) of an endpoint row, or null when
// it has none.
export function phaseValue(e, phase, stat) {
  const v = hasPhases(e) ? e.phases_ms[phase]?.[stat] : null;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

// phaseTitle is a phase's four figures in one line, for a hover title:
// "wait: p50 30.1 ms · p95 31.0 ms · p99 33.2 ms · max 40.9 ms".
export function phaseTitle(e, phase) {
  const d = e.phases_ms[phase];
  return `${t(`phase.${phase}`)}: ` + phaseStats.map((k) => `${k} ${fmtMs(d?.[k])}`).join(" · ");
}

// phaseBar is an endpoint's phases at stat as one horizontal stacked bar:
// each segment its phase's share of their sum, its figure in the title.
export function phaseBar(e, stat) {
  const parts = phaseNames.map((p) => [p, phaseValue(e, p, stat)]).filter(([, v]) => v != null);
  const sum = parts.reduce((n, [, v]) => n + Math.max(0, v), 0);
  const words = parts.map(([p, v]) => `${t(`phase.${p}`)} ${fmtMs(v)}`).join(", ");
  const bar = h("div", { class: "phase-bar", role: "img", "aria-label": t("run.phases.bar", { name: e.name, stat, parts: words }), "data-sum": String(sum) });
  for (const [p, v] of parts) {
    if (!(v > 0) || !(sum > 0)) continue;
    bar.append(
      h("span", {
        class: "phase-seg",
        "data-phase": p,
        "data-ms": String(v),
        style: `width: ${((100 * v) / sum).toFixed(3)}%; background: ${phaseColors[p]}`,
        title: `${t(`phase.${p}`)} ${stat} ${fmtMs(v)} (${Math.round((100 * v) / sum)}%)\n${phaseTitle(e, p)}`,
      }),
    );
  }
  return bar;
}

// protocolText words the protocol(s) an endpoint's requests went with:
// "HTTP/1.1", or "HTTP/2.0 980 · unknown 20" for a mix; WebSocket and gRPC
// endpoints by their method; "–" when the run did not record it.
export function protocolText(e) {
  const ps = Object.entries((e && e.protocols) || {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (!ps.length) {
    if (e && e.method === "GRPC") return t("proto.grpc");
    if (e && (e.method === "WS" || e.method === "WS-OPEN")) return t("proto.ws");
    return "–";
  }
  const name = (k) => (k === "unknown" ? t("proto.unknown") : k);
  if (ps.length === 1) return name(ps[0][0]);
  return ps.map(([k, n]) => `${name(k)} ${fmtInt(n)}`).join(" · ");
}

// methodKind is "ws" or "grpc" for an endpoint that is not HTTP, else "".
export function methodKind(method) {
  if (method === "WS" || method === "WS-OPEN") return "ws";
  if (method === "GRPC") return "grpc";
  return "";
}
