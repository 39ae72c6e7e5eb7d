// Compare two runs: verdict, delta table, overlaid charts.

import * as api from "../api.js";
import { Chart, colors, columns, monitorColumn, monitorGroups, monitorSeriesLabel, unitOfKey } from "../charts.js";
import { h, fmt, fmtMs, badge } from "../dom.js";
import { t } from "../i18n.js";

export async function pageCompare(page, a, b) {
  const { runs } = await api.listRuns();
  const picker = (id, key, value) =>
    h("label", {}, h("span", {}, t(key)), h("select", { id }, h("option", { value: "" }, "—"), runs.map((r) => h("option", { value: r.id, selected: r.id === value }, `${r.name} · ${r.id}`))));
  const pa = picker("compare-a", "compare.a", a);
  const pb = picker("compare-b", "compare.b", b);
  const form = h(
    "form",
    {
      class: "card row wrap",
      onsubmit: (e) => {
        e.preventDefault();
        const va = pa.querySelector("select").value;
        const vb = pb.querySelector("select").value;
        if (va && vb) page.go(`#/compare?a=${encodeURIComponent(va)}&b=${encodeURIComponent(vb)}`);
      },
    },
    pa,
    pb,
    h("button", { type: "submit", class: "primary", id: "compare-go" }, t("compare.go")),
  );
  const head = h("div", { class: "page-head" }, h("h1", {}, t("compare.title")));
  if (!a || !b) {
    page.root.replaceChildren(head, form, h("p", { class: "muted" }, t("compare.pick")));
    return;
  }
  const [c, ta, tb] = await Promise.all([api.compare(a, b), api.timeline(a), api.timeline(b)]);
  // An incomparable pair has no per-metric judgement worth listing: the
  // offered load differed, so the reason is the whole message.
  const incomparable = c.verdict === "incomparable";
  const changed = incomparable ? [] : c.metrics.filter((m) => m.verdict !== "same");
  const verdict = h(
    "div",
    { class: `verdict verdict-${c.verdict}`, id: "verdict", "data-verdict": c.verdict },
    h("div", { class: "big", id: "verdict-headline" }, t(incomparable ? "verdict.summary.incomparable" : c.enough_data ? `verdict.summary.${c.verdict}` : "verdict.summary.short")),
    incomparable
      ? h("p", { id: "verdict-reason" }, t("compare.reason.incomparable", { reason: c.reason || "–" }))
      : changed.length
      ? h("ul", {}, changed.map((m) => h("li", {}, `${t(`metric.${m.name}`)}: ${metricText(m)} (p ${m.p_value < 0.001 ? "< 0.001" : "= " + fmt(m.p_value, 3)})`)))
      : h("p", {}, c.enough_data ? t("compare.reason.same") : t("compare.reason.short", { a: c.steady_intervals[0], b: c.steady_intervals[1] })),
  );
  const rows = c.metrics.map((m) =>
    h(
      "tr",
      { "data-metric": m.name },
      h("td", {}, t(`metric.${m.name}`)),
      h("td", { class: "num" }, metricValue(m, m.a)),
      h("td", { class: "num" }, metricValue(m, m.b)),
      h("td", { class: "num" }, changeText(m)),
      h("td", { class: "num" }, m.p_value == null ? "–" : m.p_value < 0.001 ? "< 0.001" : fmt(m.p_value, 3)),
      h("td", {}, h("span", { class: `badge verdict-${m.verdict}`, title: m.reason || null }, m.p_value == null && m.verdict === "same" && m.a !== m.b ? t("verdict.short") : verdictWord(m.verdict))),
    ),
  );
  const runLink = (r, key, load) =>
    h(
      "div",
      {},
      h("span", { class: "muted" }, t(key) + ": "),
      h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name),
      " ",
      badge(r.status),
      h("span", { class: "muted small mono" }, " " + r.id),
      load ? h("span", { class: "muted small", "data-load": load }, " · " + t("compare.load", { load })) : null,
    );
  const chartBox = (key, id) => h("div", { class: "card chart" }, h("h3", {}, t(key)), h("div", { id }));
  const rpsBox = chartBox("compare.chart.rps", "compare-chart-rps");
  const p99Box = chartBox("compare.chart.p99", "compare-chart-p99");
  const p50Box = chartBox("compare.chart.p50", "compare-chart-p50");
  page.root.replaceChildren(
    head,
    form,
    h("div", { class: "card" }, runLink(c.a, "compare.a", (c.load && c.load[0]) || c.a.load), runLink(c.b, "compare.b", (c.load && c.load[1]) || c.b.load)),
    verdict,
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "scroll" },
        h(
        "table",
        { id: "compare-table" },
        h("thead", {}, h("tr", {}, h("th", {}, t("compare.metric")), h("th", { class: "num" }, "A"), h("th", { class: "num" }, "B"), h("th", { class: "num" }, t("compare.change")), h("th", { class: "num" }, t("compare.p")), h("th", {}, t("compare.verdict")))),
        h("tbody", {}, rows),
        ),
      ),
      h("p", { class: "muted small" }, t("compare.steady", { a: c.steady_intervals[0], b: c.steady_intervals[1] })),
      c.notes.length ? h("div", {}, h("h4", {}, t("compare.notes")), h("ul", {}, c.notes.map((n) => h("li", {}, noteText(n))))) : null,
      h("details", {}, h("summary", {}, t("compare.details")), h("p", { class: "small" }, t("compare.method")), h("p", { class: "small muted", id: "compare-reason" }, c.reason)),
    ),
    h("div", { class: "charts" }, rpsBox, p99Box, p50Box),
  );
  const monBox = h("section", { class: "card", id: "compare-monitors" });
  const overlay = (box, pick, opts) => {
    const ca = columns(ta.points);
    const cb = columns(tb.points);
    const joined = window.uPlot.join([[ca.x, pick(ca)], [cb.x, pick(cb)]]);
    const ch = new Chart(
      box.lastChild,
      [
        { label: "A", color: colors.a, dash: [6, 4] },
        { label: "B", color: colors.b },
      ],
      opts,
    );
    ch.set(...joined);
    page.onLeave(() => ch.destroy());
  };
  overlay(rpsBox, (cols) => cols.rps, {});
  overlay(p99Box, (cols) => cols.p99, { unit: "ms" });
  overlay(p50Box, (cols) => cols.p50, { unit: "ms" });

  // Each monitor series either run has, A beside B on the elapsed axis: a
  // monitor's name and series key match across runs, so "api" host CPU of
  // A overlays "api" host CPU of B. At most maxCompareMonitorCharts charts.
  const series = [];
  const seen = new Set();
  for (const pts of [ta.points, tb.points]) {
    for (const g of monitorGroups(pts || [], [])) {
      for (const k of g.keys) {
        const id = g.monitor + "\u0000" + k;
        if (!seen.has(id)) {
          seen.add(id);
          series.push({ monitor: g.monitor, key: k });
        }
      }
    }
  }
  if (!series.length) return;
  const grid = h("div", { class: "charts" });
  monBox.replaceChildren(h("h2", {}, t("compare.monitors")), grid);
  page.root.append(monBox);
  series.slice(0, maxCompareMonitorCharts).forEach((m, i) => {
    const el = h("div", { id: `compare-chart-monitor-${i}`, "data-monitor": m.monitor, "data-key": m.key });
    grid.append(h("div", { class: "card chart" }, h("h3", {}, `${m.monitor} · ${monitorSeriesLabel(m.key)}`), el));
    const xa = (ta.points || []).map((p) => p.elapsed_s);
    const xb = (tb.points || []).map((p) => p.elapsed_s);
    const joined = window.uPlot.join([
      [xa, monitorColumn(ta.points || [], m.monitor, m.key)],
      [xb, monitorColumn(tb.points || [], m.monitor, m.key)],
    ]);
    const ch = new Chart(
      el,
      [
        { label: "A", color: colors.a, dash: [6, 4] },
        { label: "B", color: colors.b },
      ],
      { unit: unitOfKey(m.key) },
    );
    ch.set(...joined);
    page.onLeave(() => ch.destroy());
  });
}

// maxCompareMonitorCharts bounds the monitor charts of the compare page
// (per-process series multiply with the processes watched).
const maxCompareMonitorCharts = 12;

function metricValue(m, v) {
  if (m.unit === "ms") return fmtMs(v);
  if (m.unit === "%") return `${fmt(v, 2)}%`;
  return `${fmt(v)}/s`;
}

function changeText(m) {
  const sign = m.delta > 0 ? "+" : m.delta < 0 ? "−" : "±";
  if (m.unit === "%") return `${sign}${fmt(Math.abs(m.delta), 2)} pt`;
  if (m.delta_pct == null) return `${sign}${metricValue(m, Math.abs(m.delta))}`;
  return `${sign}${fmt(Math.abs(m.delta_pct), 1)}%`;
}

function metricText(m) {
  return `${metricValue(m, m.a)} → ${metricValue(m, m.b)} (${changeText(m)})`;
}

// noteText words a note in the UI's language; the server's English text
// is the fallback for kinds this UI does not know.
function noteText(n) {
  const key = `compare.note.${n.kind}`;
  const s = t(key, n.params);
  return s === key ? n.text : s;
}

// verdictWord is a metric's verdict in the UI's language; a verdict this UI
// does not know is shown as the server wrote it.
function verdictWord(v) {
  const key = `verdict.${v}`;
  const s = t(key);
  return s === key ? v : s;
}
