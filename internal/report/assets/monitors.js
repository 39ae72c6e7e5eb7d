// Draws the target monitors' charts (html.go: .monitor-chart elements, one
// per monitor and unit) from the summary embedded in #surge-data. Inlined
// only into reports of runs with monitors, after report.js.
//
// The charts share the load charts' x values (elapsed_s of each timeline
// point), x range, axis widths and cursor sync key, so hover and zoom line
// up with them. A failed scrape (null) is a gap.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("surge-data").textContent);
  const timeline = (data && data.timeline) || [];
  if (timeline.length === 0 || typeof uPlot === "undefined") {
    return;
  }
  const x = timeline.map((p) => (p.elapsed_s === undefined ? null : p.elapsed_s));

  const dash = "–";
  const num = (v) => (v == null ? dash : v.toLocaleString("en-US", { maximumFractionDigits: 2 }));
  const secs = (v) => {
    if (v == null) return dash;
    if (v < 60) return +v.toFixed(1) + "s";
    const h = Math.floor(v / 3600);
    const m = Math.floor((v % 3600) / 60);
    const s = Math.round(v % 60);
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + (s ? s + "s" : "");
  };
  // Binary units, as the tables (html.go bytes) write them.
  const bytes = (v) => {
    if (v == null) return dash;
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let n = v;
    while (Math.abs(n) >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
  };
  const formats = {
    "%": (v) => (v == null ? dash : num(v) + "%"),
    B: bytes,
    "B/s": (v) => (v == null ? dash : bytes(v) + "/s"),
    "/s": (v) => (v == null ? dash : num(v) + "/s"),
    "": num,
  };
  const axisLabels = { "%": "%", B: "bytes", "B/s": "bytes/s", "/s": "per second", "": "count" };
  const palette = ["#3556c9", "#c62828", "#1a7f37", "#8e44ad", "#e67e22", "#0891b2", "#7b8494", "#b8860b"];

  // As report.js: the same sizes line the plots up under the load charts.
  const axisSize = 64;
  const labelSize = 24;
  const height = 220;
  const fromZero = (u, min, max) => uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true);
  const percent = (u, min, max) => [0, max > 100 ? max : 100];

  const plots = [];
  for (const el of document.querySelectorAll(".monitor-chart")) {
    const mon = el.dataset.monitor;
    const unit = el.dataset.unit || "";
    const fmt = formats[unit] || num;
    let series;
    try {
      series = JSON.parse(el.dataset.series || "[]");
    } catch (e) {
      continue;
    }
    const col = (key) =>
      timeline.map((p) => {
        const v = p.monitors && p.monitors[mon] ? p.monitors[mon][key] : undefined;
        return v === undefined ? null : v;
      });
    const opts = {
      width: el.clientWidth,
      height,
      cursor: { sync: { key: "surge" } },
      scales: {
        x: { time: false, range: (u, min, max) => [0, max > 0 ? max : 1] },
        m: { range: unit === "%" ? percent : fromZero },
      },
      series: [
        { label: "elapsed", value: (u, v) => secs(v) },
        ...series.map((s, i) => ({
          label: s.label,
          scale: "m",
          stroke: palette[i % palette.length],
          width: 2,
          spanGaps: false,
          points: { show: false },
          value: (u, v) => fmt(v),
        })),
      ],
      axes: [
        { values: (u, splits) => splits.map(secs) },
        { scale: "m", label: axisLabels[unit] || unit, size: axisSize, labelSize, values: (u, s) => s.map(fmt) },
      ],
      padding: [null, axisSize + labelSize, null, null],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => col(s.key))], el);
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
