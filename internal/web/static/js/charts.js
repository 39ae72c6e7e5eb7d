// Time-series charts on uPlot (vendor/uplot, loaded as the global uPlot).
// The x axis is seconds since the run started, so runs line up in compare.
// A null value is a gap: an interval in which no request completed has no
// latency, and the line breaks there instead of diving to zero.

import { fmtMs } from "./dom.js";

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
//   opts.unit: "ms" formats the y axis and the legend as latencies.
export class Chart {
  constructor(el, series, opts = {}) {
    this.el = el;
    el.chart = this; // for tests and curious users: el.chart.data
    this.series = series;
    this.data = [[], ...series.map(() => [])];
    const u = window.uPlot;
    const yFmt = opts.unit === "ms" ? fmtMs : formatAxis;
    this.plot = new u(
      {
        width: width(el),
        height,
        scales: { x: { time: false }, y: { range: (self, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: "#64748b", grid: { stroke: "#e2e8f0" }, values: (self, ticks) => ticks.map((v) => v + "s") },
          {
            stroke: "#64748b",
            grid: { stroke: "#e2e8f0" },
            size: opts.unit === "ms" ? 64 : 56,
            values: (self, ticks) => ticks.map((v) => yFmt(v)),
          },
        ],
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        series: [
          { label: opts.xLabel || "s", value: (self, v) => (v == null ? "–" : v.toFixed(0) + "s") },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            spanGaps: false,
            points: { show: false },
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
