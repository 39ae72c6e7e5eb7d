// Compare two runs: verdict, delta table, overlaid charts.

import * as api from "../api.js";
import { Chart, colors, columns, fmtBytes, hasPhases, methodKind, monitorColumn, monitorGroups, monitorKeyOf, monitorSeriesLabel, phaseTitle, phaseValue, protocolText, unitOfKey } from "../charts.js";
import { h, fmt, fmtInt, fmtMs, badge } from "../dom.js";
import { t } from "../i18n.js";
import { compareCapacity } from "./capacity.js";

export async function pageCompare(page, a, b) {
  const { runs } = await api.listRuns();
  const picker = (id, key, value) =>
    h("label", {}, h("span", {}, t(key)), h("select", { id }, h("option", { value: "" }, "—"), runs.map((r) => h("option", { value: r.id, selected: r.id === value }, `${r.name}${r.kind === "capacity" ? ` (${t("cap.kind")})` : ""} · ${r.id}`))));
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
  const c = await api.compare(a, b);
  // Capacity searches compare by their max rate (capacity.js).
  if (c.kind === "capacity") return compareCapacity(page, c, head, form);
  // The summaries carry each endpoint's timing phases; a run without one
  // (or a server that cannot build it) has no phase rows, not an error.
  const [ta, tb, sa, sb] = await Promise.all([api.timeline(a), api.timeline(b), api.summary(a).catch(() => null), api.summary(b).catch(() => null)]);
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
    targetNotes(c),
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
  // replaceChildren writes null as the text "null": the tables a
  // comparison lacks are filtered out.
  const parts = [
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
    monitorDeltas(c),
    flowDeltas(c),
    phaseDeltas(sa, sb),
    h("div", { class: "charts" }, rpsBox, p99Box, p50Box),
  ];
  page.root.replaceChildren(...parts.filter(Boolean));
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

// beyondNoise says whether a monitor row changed beyond noise.
const beyondNoise = (m) => m.verdict === "better" || m.verdict === "worse" || m.verdict === "changed";

// targetNotes names, in the verdict box, the monitor series that moved
// beyond noise and the flows whose p99 rose or fell: what changed on the
// target's side, which never changes the verdict.
function targetNotes(c) {
  const mons = (c.monitors || []).filter(beyondNoise);
  const flows = (c.flows || []).filter((f) => f.change === "rose" || f.change === "fell");
  if (!mons.length && !flows.length) return null;
  return h(
    "div",
    { id: "verdict-target" },
    mons.length ? h("h4", {}, t("compare.mon.beyond")) : null,
    mons.length
      ? h("ul", { id: "verdict-monitors" }, mons.map((m) => h("li", { "data-series": monKey(m), "data-verdict": m.verdict }, `${monLabel(m)}: ${monValue(m, m.a)} → ${monValue(m, m.b)} (${monChange(m)}), ${verdictWord(m.verdict)}`)))
      : null,
    flows.length ? h("h4", {}, t("compare.flows.moved")) : null,
    flows.length
      ? h("ul", { id: "verdict-flows" }, flows.map((f) => h("li", { "data-flow": f.flow, "data-kind": f.kind }, `${flowName(f)} p99: ${fmtMs(f.a.p99_ms)} → ${fmtMs(f.b.p99_ms)} (${flowChange(f)})`)))
      : null,
  );
}

// monitorDeltas is the table of the target monitors' series both runs
// have (the comparison's monitors rows), under the load's metrics.
function monitorDeltas(c) {
  const rows = c.monitors || [];
  if (!rows.length) return null;
  const cols = ["compare.mon.monitor", "compare.mon.series", "A", "B", "compare.change", "compare.p", "compare.verdict"];
  return h(
    "section",
    { class: "card", id: "compare-monitor-deltas" },
    h("h2", {}, t("compare.mon.title")),
    h("p", { class: "muted small" }, t("compare.mon.help")),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "compare-monitors-table" },
        h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 1 && i < 6 ? "num" : null }, k.length === 1 ? k : t(k))))),
        h(
          "tbody",
          {},
          rows.map((m) =>
            h(
              "tr",
              { "data-monitor": m.monitor, "data-series": monKey(m), "data-what": m.what, "data-verdict": m.verdict, class: beyondNoise(m) ? "moved" : null },
              h("td", { class: "mono" }, m.monitor),
              h("td", {}, seriesWords(m), h("div", { class: "muted small" }, whatWord(m))),
              h("td", { class: "num", "data-col": "a" }, monValue(m, m.a)),
              h("td", { class: "num", "data-col": "b" }, monValue(m, m.b)),
              h("td", { class: "num", "data-col": "change" }, monChange(m)),
              h("td", { class: "num" }, m.p_value == null ? "–" : m.p_value < 0.001 ? "< 0.001" : fmt(m.p_value, 3)),
              h("td", {}, h("span", { class: `badge verdict-${m.verdict}`, title: m.reason || null }, verdictWord(m.verdict))),
            ),
          ),
        ),
      ),
    ),
  );
}

// flowDeltas is the table of the flows and poll steps both runs have:
// their p99 end to end, A beside B, and the runs' iterations, errors
// (a poll's timeouts) and those cut short by the end of the run.
function flowDeltas(c) {
  const rows = c.flows || [];
  if (!rows.length) return null;
  const side = (s, kind) =>
    t(kind === "poll" ? "compare.flows.sidePoll" : "compare.flows.side", { n: fmtInt(s.iterations), e: fmtInt(s.errors) }) + (s.cut ? " · " + t("compare.flows.cut", { n: fmtInt(s.cut) }) : "");
  const cols = ["compare.flows.flow", "compare.flows.p99a", "compare.flows.p99b", "compare.change", "compare.flows.runs", "compare.flows.change"];
  return h(
    "section",
    { class: "card", id: "compare-flow-deltas" },
    h("h2", {}, t("compare.flows.title")),
    h("p", { class: "muted small" }, t("compare.flows.help")),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "compare-flows-table" },
        h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 0 && i < 4 ? "num" : null }, t(k))))),
        h(
          "tbody",
          {},
          rows.map((f) =>
            h(
              "tr",
              { "data-flow": f.flow, "data-kind": f.kind, "data-change": f.change },
              h("td", {}, f.flow, f.kind === "poll" ? h("span", { class: "badge kind-poll" }, t("compare.flows.poll")) : null),
              h("td", { class: "num", "data-col": "a" }, fmtMs(f.a.p99_ms)),
              h("td", { class: "num", "data-col": "b" }, fmtMs(f.b.p99_ms)),
              h("td", { class: "num", "data-col": "change" }, flowChange(f)),
              h("td", { class: "small" }, h("div", {}, "A: " + side(f.a, f.kind)), h("div", {}, "B: " + side(f.b, f.kind))),
              h("td", {}, h("span", { class: `badge change-${f.change}`, title: f.reason || null }, changeWord(f.change))),
            ),
          ),
        ),
      ),
    ),
  );
}

// comparedPhases are the phases the compare page sets side by side: the
// target's (wait, its time to first byte) and the network's (connect).
const comparedPhases = ["wait", "connect"];

// phaseDeltas is the table of the endpoints both runs timed (same name and
// method, phases_ms in both summaries): wait and connect p95 over the whole
// run, A beside B, and the protocols when they differ. Like the flows,
// they never change the verdict (there is no rank test on them). When one
// run has phases and the other has none (recorded before Surge measured
// them), a line says so; when neither has any, there is no part.
function phaseDeltas(sa, sb) {
  const timed = (s) => ((s && s.endpoints) || []).filter(hasPhases);
  const ea = timed(sa);
  const eb = timed(sb);
  if (!ea.length && !eb.length) return null;
  const key = (e) => `${e.method}\u0000${e.name}`;
  const inB = new Map(eb.map((e) => [key(e), e]));
  const pairs = ea.filter((e) => inB.has(key(e))).map((e) => [e, inB.get(key(e))]);
  const box = h("section", { class: "card", id: "compare-phases" }, h("h2", {}, t("compare.phases.title")));
  if (!pairs.length) {
    const which = !ea.length ? "A" : !eb.length ? "B" : null;
    box.append(h("p", { class: "muted small", id: "compare-phases-missing" }, which ? t("compare.phases.missing", { run: which }) : t("compare.phases.noCommon")));
    return box;
  }
  const cols = ["compare.phases.endpoint", "compare.phases.protocol"];
  for (const p of comparedPhases) cols.push(`compare.phases.${p}A`, `compare.phases.${p}B`, `compare.phases.${p}Change`);
  const cell = (e, p, side) => {
    const v = phaseValue(e, p, "p95");
    return h("td", { class: "num", "data-col": `${p}-${side}`, title: e.phases_ms[p] ? phaseTitle(e, p) : null }, fmtMs(v));
  };
  box.append(
    h("p", { class: "muted small" }, t("compare.phases.help")),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "compare-phases-table" },
        h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 1 ? "num" : null }, t(k))))),
        h(
          "tbody",
          {},
          pairs.map(([a, b]) => {
            const pa = protocolText(a);
            const pb = protocolText(b);
            const kind = methodKind(a.method);
            return h(
              "tr",
              { "data-endpoint": a.name, "data-method": a.method },
              h("td", {}, a.name, " ", kind ? h("span", { class: `badge kind-${kind}` }, a.method) : h("span", { class: "mono small muted" }, a.method)),
              h("td", { class: "small", "data-col": "protocol", "data-changed": pa === pb ? null : "true" }, pa === pb ? pa : `${pa} → ${pb}`),
              comparedPhases.flatMap((p) => [
                cell(a, p, "a"),
                cell(b, p, "b"),
                h("td", { class: "num", "data-col": `${p}-change` }, phaseChange(phaseValue(a, p, "p95"), phaseValue(b, p, "p95"))),
              ]),
            );
          }),
        ),
      ),
    ),
  );
  return box;
}

// phaseChange is B's figure against A's: a percentage, or the difference
// in ms when A's is 0 (a connect p95 often is, on reused connections).
function phaseChange(a, b) {
  if (a == null || b == null) return "–";
  const d = b - a;
  const sign = d > 0 ? "+" : d < 0 ? "−" : "±";
  if (a > 0) return `${sign}${fmt(Math.abs((100 * d) / a), 1)}%`;
  return `${sign}${fmtMs(Math.abs(d))}`;
}

// whatWord is what a monitor row compares (peak, mean, CPU-ms per
// request…) in the UI's language, or as the server wrote it.
function whatWord(m) {
  const key = `compare.mon.what.${m.what}`;
  const s = t(key);
  return s === key ? m.what : s;
}

// monKey is a monitor row's series key, as the timeline writes it.
function monKey(m) {
  return monitorKeyOf({ name: m.series, labels: m.labels || {} });
}

function seriesWords(m) {
  return monitorSeriesLabel(monKey(m));
}

function monLabel(m) {
  return `${m.monitor} ${seriesWords(m)} ${whatWord(m)}`;
}

// monValue writes a monitor row's figure in its unit.
function monValue(m, v) {
  if (v == null) return "–";
  switch (m.unit) {
    case "ms":
      return fmtMs(v);
    case "B":
      return fmtBytes(v);
    case "/s":
      return `${fmt(v, 2)}/s`;
    case "%":
      return `${fmt(v, 1)}%`;
  }
  return fmt(v, 2);
}

function monChange(m) {
  const sign = m.delta > 0 ? "+" : m.delta < 0 ? "−" : "±";
  if (m.delta_pct == null) return `${sign}${monValue(m, Math.abs(m.delta))}`;
  return `${sign}${fmt(Math.abs(m.delta_pct), 1)}%`;
}

function flowName(f) {
  return f.kind === "poll" ? t("compare.flows.pollName", { name: f.flow }) : f.flow;
}

function flowChange(f) {
  if (f.delta_p99_ms == null) return "–";
  const sign = f.delta_p99_ms > 0 ? "+" : f.delta_p99_ms < 0 ? "−" : "±";
  if (f.delta_p99_pct == null) return `${sign}${fmtMs(Math.abs(f.delta_p99_ms))}`;
  return `${sign}${fmt(Math.abs(f.delta_p99_pct), 1)}%`;
}

// changeWord is a flow's change in the UI's language, or as the server
// wrote it when this UI does not know it.
function changeWord(c) {
  const key = `compare.flows.${c}`;
  const s = t(key);
  return s === key ? c : s;
}
