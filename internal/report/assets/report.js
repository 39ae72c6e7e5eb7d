// Draws the report's charts from the summary embedded in #surge-data.
// Timeline points are stamped at the end of their interval (elapsed_s).
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("surge-data").textContent);
  const timeline = (data && data.timeline) || [];
  if (timeline.length === 0 || typeof uPlot === "undefined") {
    return;
  }
  const col = (key) => timeline.map((p) => (p[key] === undefined ? null : p[key]));
  // An interval in which no request completed has no latency: null, a gap
  // in the line (older summaries wrote 0 there).
  const lat = (key) => timeline.map((p) => (p.requests > 0 && p[key] != null ? p[key] : null));
  const x = col("elapsed_s");

  // Formatters; ms() matches the tables (html.go latencyText) and the
  // dashboard: "0.41 ms", "12.3 ms", "212 ms", "1.20 s".
  const dash = "–";
  const num = (v) => (v == null ? dash : v.toLocaleString("en-US", { maximumFractionDigits: 2 }));
  const ms = (v) => {
    if (v == null) return dash;
    const a = Math.abs(v);
    if (a >= 10000) return (v / 1000).toFixed(1) + " s";
    if (a >= 1000) return (v / 1000).toFixed(2) + " s";
    if (a === 0) return "0 ms";
    if (a >= 100) return v.toFixed(0) + " ms";
    if (a >= 10) return v.toFixed(1) + " ms";
    return v.toFixed(2) + " ms";
  };
  const secs = (v) => {
    if (v == null) return dash;
    if (v < 60) return +v.toFixed(1) + "s";
    const h = Math.floor(v / 3600);
    const m = Math.floor((v % 3600) / 60);
    const s = Math.round(v % 60);
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + (s ? s + "s" : "");
  };

  // Counts and rates start at zero; an all-zero series still gets an axis.
  const fromZero = (u, min, max) => uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true);
  const stepped = uPlot.paths.stepped({ align: -1 });

  const xSeries = { label: "elapsed", value: (u, v) => secs(v) };
  const xAxis = { values: (u, splits) => splits.map(secs) };
  const line = (label, color, scale, fmt, extra) =>
    Object.assign({ label, scale, stroke: color, width: 2, value: (u, v) => fmt(v), points: { show: false } }, extra);

  const charts = [
    {
      id: "chart-rps",
      series: [
        line("requests/s", "#3556c9", "rps", num, { fill: "rgba(53,86,201,0.08)" }),
        line("offered/s", "#1d2330", "rps", num, { dash: [8, 4], width: 1.5 }),
        line("VUs", "#7b8494", "vus", num, { dash: [2, 3], width: 1.5 }),
      ],
      data: [col("rps"), col("offered_rps"), col("max_vus")],
      scales: { rps: { range: fromZero }, vus: { range: fromZero } },
      axes: [
        { scale: "rps", label: "requests/s", values: (u, s) => s.map(num) },
        { scale: "vus", label: "VUs", side: 1, grid: { show: false }, values: (u, s) => s.map(num) },
      ],
    },
    {
      id: "chart-latency",
      series: [
        line("p50", "#1a7f37", "ms", ms),
        line("p90", "#3556c9", "ms", ms),
        line("p95", "#8e44ad", "ms", ms),
        line("p99", "#e67e22", "ms", ms),
        line("max", "#c62828", "ms", ms, { width: 1, dash: [4, 3] }),
      ],
      data: ["p50", "p90", "p95", "p99", "max"].map(lat),
      scales: { ms: { range: fromZero } },
      axes: [{ scale: "ms", label: "latency", values: (u, s) => s.map(ms) }],
    },
    {
      id: "chart-errors",
      series: [
        line("errors", "#c62828", "n", num, { paths: stepped, fill: "rgba(198,40,40,0.15)" }),
        line("dropped", "#e0a100", "n", num, { paths: stepped, fill: "rgba(224,161,0,0.15)" }),
      ],
      data: [col("errors"), col("dropped")],
      scales: { n: { range: fromZero } },
      axes: [{ scale: "n", label: "per interval", values: (u, s) => s.map(num) }],
    },
  ];

  // Fixed axis widths line the three plots up under one another, so the
  // synced cursor sits at the same x in each.
  const axisSize = 64;
  const labelSize = 24;
  const height = 260;
  const plots = [];
  for (const c of charts) {
    const el = document.getElementById(c.id);
    if (!el) continue;
    const opts = {
      width: el.clientWidth,
      height,
      cursor: { sync: { key: "surge" } },
      scales: Object.assign({ x: { time: false, range: (u, min, max) => [0, max > 0 ? max : 1] } }, c.scales),
      series: [xSeries, ...c.series],
      axes: [xAxis, ...c.axes.map((a) => Object.assign({ size: axisSize, labelSize }, a))],
      // Leave room on the right where the first chart has its VU axis.
      padding: [null, c.axes.length > 1 ? null : axisSize + labelSize, null, null],
    };
    const plot = new uPlot(opts, [x, ...c.data], el);
    el.plot = plot; // for tests and curious readers: el.plot.data
    plots.push({ el, plot });
  }

  let pending = false;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      for (const { el, plot } of plots) plot.setSize({ width: el.clientWidth, height });
    });
  });
})();
