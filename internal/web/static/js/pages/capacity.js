// Capacity searches (docs/api.md, "Capacity searches"): the start form
// (#/capacity), a search's page (#/runs/ID of a run with kind "capacity":
// its steps live, the curve, the result) and the comparison of two
// searches. A search is a run like any other; its summary is
// surge.capacity/v1 (docs/capacity.md).

import { agentPicker } from "../agentpick.js";
import * as api from "../api.js";
import { Chart, colors, columns, monitorSeriesLabel, row, unitFormat, unitOfKey } from "../charts.js";
import { badge, errorBox, fmt, fmtDuration, fmtInt, fmtMs, fmtTime, h, rich, runSeconds } from "../dom.js";
import { field, formErrors, input, checkURL, isDuration, problemsOf } from "../form.js";
import { t } from "../i18n.js";
import { targetPicker } from "../target.js";

// ---- the start form ----------------------------------------------------------

export async function pageCapacityNew(page) {
  const files = await api.scenarios().catch(() => ({ scenarios: [] }));
  const target = targetPicker(files, null, "http://127.0.0.1:8080/work");
  const slo = h("textarea", { name: "slo", id: "start-slo", rows: 2, placeholder: "p99<250ms\nerrors<1%" }, "p99<250ms\nerrors<1%");
  const start = input("start", { type: "number", min: 0, step: "any", placeholder: "10" });
  const max = input("max", { type: "number", min: 0, step: "any", placeholder: "5000" });
  const step = input("step", { placeholder: "6s" });
  const precision = input("precision", { type: "number", min: 0, max: 100, step: "any", placeholder: "5" });
  const maxVUs = input("max_vus", { type: "number", min: 1, step: 1 });
  const timeout = input("timeout", { placeholder: "10s" });
  const monitors = h("textarea", { name: "monitors", id: "start-monitors", rows: 2, placeholder: "http://127.0.0.1:9465/metrics\ndb=http://127.0.0.1:9100/metrics" });
  const probe = input("probe", { type: "url", placeholder: "http://127.0.0.1:8080/health" });
  // The API takes bytes/s; people think of links in Mbit/s.
  const link = input("link_bytes_per_s", { type: "number", min: 0, step: "any", placeholder: "1000" });
  const name = input("name");
  const where = agentPicker(page);
  const msg = h("div", { class: "form-error", id: "start-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "start-submit" }, t("cap.submit"));
  const form = h(
    "form",
    { class: "card", id: "capacity-form", onsubmit: onSubmit, novalidate: true },
    h("h1", {}, t("cap.new.title")),
    h("p", { class: "muted" }, t("cap.new.help")),
    target.el,
    h(
      "fieldset",
      {},
      h("legend", {}, t("cap.search")),
      field("cap.slo", slo, t("cap.slo.help")),
      h(
        "div",
        { class: "row wrap" },
        field("cap.start", start, t("cap.start.help")),
        field("cap.max", max, t("cap.max.help")),
        field("cap.step", step, t("cap.step.help")),
        field("cap.precision", precision, t("cap.precision.help")),
      ),
      h("div", { class: "row wrap" }, field("new.maxVUs", maxVUs), field("new.timeout", timeout)),
      field("new.name", name),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("cap.watch")),
      field("cap.monitors", monitors, rich(t("cap.monitors.help"))),
      field("cap.probe", probe, t("cap.probe.help")),
      field("cap.link", link, t("cap.link.help")),
    ),
    where.el,
    msg,
    submit,
  );
  const errors = formErrors(form, msg, submit, "cap.errors", "start-error-count");

  const lines = (el) => el.value.split("\n").map((s) => s.trim()).filter(Boolean);
  const num = (el) => (el.value.trim() === "" ? null : Number(el.value));
  function check() {
    const probs = [];
    const bad = (f, key, params) => probs.push({ field: f, message: t(key, params) });
    target.check(bad);
    if (!lines(slo).length) bad("slo", "cap.err.slo");
    const s = num(start);
    const m = num(max);
    if (s != null && !(Number.isFinite(s) && s > 0)) bad("start", "new.err.rate");
    if (m != null && !(Number.isFinite(m) && m > 0)) bad("max", "new.err.rate");
    if (s != null && m != null && s > 0 && m > 0 && m < s) bad("max", "cap.err.max");
    if (step.value.trim() && !isDuration(step.value)) bad("step", "new.err.duration");
    const p = num(precision);
    if (p != null && !(p > 0 && p < 100)) bad("precision", "cap.err.precision");
    if (maxVUs.value && !(Number.isInteger(Number(maxVUs.value)) && Number(maxVUs.value) >= 1)) bad("max_vus", "new.err.count");
    if (timeout.value.trim() && !isDuration(timeout.value)) bad("timeout", "new.err.duration");
    lines(monitors).forEach((line, i) => {
      const eq = line.indexOf("=");
      const u = /^[a-z][a-z0-9+.-]*:\/\//i.test(line) || eq < 0 ? line : line.slice(eq + 1);
      let wrong = false;
      checkURL(u, () => (wrong = true));
      if (wrong) bad("monitors", "cap.err.monitor", { n: i + 1 });
    });
    if (probe.value.trim()) checkURL(probe.value, bad, "probe");
    const l = num(link);
    if (l != null && !(Number.isFinite(l) && l > 0)) bad("link_bytes_per_s", "cap.err.link");
    where.check(bad);
    return probs;
  }

  async function onSubmit(e) {
    e.preventDefault();
    errors.clear();
    const probs = check();
    if (probs.length) {
      errors.show(probs);
      return;
    }
    const req = { slo: lines(slo) };
    target.apply(req);
    if (num(start) != null) req.start = num(start);
    if (num(max) != null) req.max = num(max);
    if (step.value.trim()) req.step = step.value.trim();
    if (num(precision) != null) req.precision = num(precision) / 100;
    if (maxVUs.value) req.max_vus = Number(maxVUs.value);
    if (timeout.value.trim()) req.timeout = timeout.value.trim();
    if (lines(monitors).length) req.monitors = lines(monitors);
    if (probe.value.trim()) req.probe = probe.value.trim();
    if (num(link) != null) req.link_bytes_per_s = Math.round(num(link) * 125000);
    if (name.value.trim()) req.name = name.value.trim();
    where.apply(req);
    submit.disabled = true;
    submit.textContent = t("new.starting");
    try {
      const { id } = await api.startCapacity(req);
      page.go(`#/runs/${encodeURIComponent(id)}`);
    } catch (err) {
      errors.show(problemsOf(err));
      submit.disabled = false;
      submit.textContent = t("cap.submit");
    }
  }

  page.root.replaceChildren(form);
}

// ---- the curve -----------------------------------------------------------------

// curve is a search's steps as chart columns over the offered rate: one
// point per rate (a rate tried twice — bisected to, then held to confirm
// it — shows its last, longest step), rates ascending.
export function curve(steps) {
  const byRate = new Map();
  for (const s of steps || []) byRate.set(s.rate, s);
  const pts = [...byRate.values()].sort((a, b) => a.rate - b.rate);
  // Achieved in the offered rate's unit, iterations/s (requests/s in a
  // search stored before iterations were recorded).
  const ach = (s) => s.achieved_ips || s.achieved_rps;
  const lat = (s, v) => (ach(s) > 0 && v != null ? v : null);
  return {
    x: pts.map((s) => s.rate),
    achieved: pts.map(ach),
    offered: pts.map((s) => s.rate),
    p50: pts.map((s) => lat(s, s.p50_ms)),
    p99: pts.map((s) => lat(s, s.p99_ms)),
    probe: pts.map((s) => s.probe_p99_ms ?? null),
  };
}

// hasProbe says whether any step has the health probe's latency.
function hasProbe(steps) {
  return (steps || []).some((s) => s.probe_p99_ms != null);
}

// marksOf are the knee and the max rate, as vertical lines on the curve.
function marksOf(c) {
  if (!c || c.start_missed) return [];
  return [
    { kind: "knee", x: c.knee_rate, label: t("cap.mark.knee", { r: fmt(c.knee_rate) }), color: colors.p95, row: 0 },
    { kind: "max", x: c.max_rate, label: t("cap.mark.max", { r: fmt(c.max_rate) }), color: colors.b, row: 1 },
  ];
}

// ---- one search ------------------------------------------------------------------

// CapacityView is the page of a run of kind "capacity": live (the run's
// events stream: state, interval, step, end) while it searches, from the
// store after.
export class CapacityView {
  constructor(page, id) {
    this.page = page;
    this.id = id;
    this.points = [];
    this.charts = [];
    this.leftS = 0;
    this.leftAt = 0;
  }

  async open() {
    this.build();
    this.es = new EventSource(api.runEventsURL(this.id));
    this.es.addEventListener("state", (e) => this.state(JSON.parse(e.data)));
    this.es.addEventListener("interval", (e) => this.interval(JSON.parse(e.data)));
    this.es.addEventListener("step", (e) => this.step(JSON.parse(e.data)));
    this.es.addEventListener("end", (e) => {
      this.state(JSON.parse(e.data));
      this.es.close();
    });
    this.es.onerror = async () => {
      if (this.es.readyState === EventSource.CLOSED) return;
      try {
        await api.getRun(this.id);
      } catch (err) {
        this.es.close();
        if (err.status !== 401) this.page.root.replaceChildren(errorBox(err));
      }
    };
    this.tick = setInterval(() => this.renderMeta(), 1000);
  }

  close() {
    this.es?.close();
    clearInterval(this.tick);
    this.charts.forEach((c) => c.destroy());
  }

  build() {
    this.el = {
      title: h("h1", { id: "run-name" }),
      status: h("span", { id: "run-status" }),
      meta: h("div", { class: "meta muted" }),
      controls: h("div", { class: "controls", id: "run-controls" }),
      why: h("div", { id: "run-why" }),
      result: h("section", { class: "card", id: "cap-result" }),
      steps: h("div", { id: "cap-steps" }),
      reports: h("div", { class: "reports", id: "run-reports" }),
    };
    const chartBox = (key, id, help) =>
      h("div", { class: "card chart" }, h("h3", {}, t(key)), h("div", { id }), help ? h("p", { class: "muted small chart-help" }, help) : null);
    const thrBox = chartBox("cap.chart.throughput", "cap-chart-throughput", t("cap.chart.throughput.help"));
    const latBox = chartBox("cap.chart.latency", "cap-chart-latency", t("cap.chart.latency.help"));
    const liveBox = chartBox("cap.chart.live", "cap-chart-live", t("cap.chart.live.help"));
    const e = this.el;
    this.page.root.replaceChildren(
      h("div", { class: "run-head" }, h("div", {}, h("div", { class: "title-row" }, e.title, h("span", { class: "badge kind-capacity" }, t("cap.kind")), e.status), e.meta), e.controls),
      e.why,
      e.result,
      h("div", { class: "charts" }, thrBox, latBox),
      h("section", { class: "card" }, h("h2", {}, t("cap.steps")), e.steps),
      h("div", { class: "charts" }, liveBox),
      h("section", { class: "card" }, h("h2", {}, t("run.reports")), e.reports),
    );
    const chartEl = (box) => box.querySelector("h3 + div");
    this.thrChart = new Chart(
      chartEl(thrBox),
      [
        { label: t("cap.series.achieved"), color: colors.rps },
        { label: t("cap.series.offered"), color: colors.offered, dash: [6, 4] },
      ],
      { x: "rate" },
    );
    this.latChart = new Chart(
      chartEl(latBox),
      [
        { label: "p50", color: colors.p50 },
        { label: "p99", color: colors.p99 },
        { label: t("cap.series.probe"), color: colors.errors, dash: [2, 3] },
      ],
      { x: "rate", unit: "ms" },
    );
    this.liveChart = new Chart(
      chartEl(liveBox),
      [
        { label: t("series.rps"), color: colors.rps },
        { label: t("series.offered"), color: colors.offered, dash: [6, 4] },
      ],
      {},
    );
    this.charts = [this.thrChart, this.latChart, this.liveChart];
  }

  // state is the whole picture: the run, its load so far, the search so far.
  async state(st) {
    this.run = st.run;
    this.points = (st.summary && st.summary.timeline) || [];
    const c = columns(this.points);
    this.liveChart.set(c.x, c.rps, c.offered);
    let cap = st.capacity;
    if (!cap) cap = await api.summary(this.id).catch(() => null);
    this.cap = cap || { steps: [] };
    this.renderHead();
    this.renderCapacity();
  }

  interval(iv) {
    const p = iv.point;
    this.points.push(p);
    const r = row(p);
    this.liveChart.push(r.x, r.rps, r.offered);
  }

  // step is one finished step, with the search so far and the time left.
  step(ev) {
    this.cap = ev.capacity || { ...this.cap, steps: [...(this.cap?.steps || []), ev.step] };
    this.leftS = ev.left_s || 0;
    this.leftAt = Date.now();
    this.renderCapacity();
    this.renderMeta();
  }

  renderMeta() {
    const r = this.run;
    if (!r) return;
    const running = r.status === "running";
    let left = null;
    if (running && this.leftS > 0) left = Math.max(0, this.leftS - (Date.now() - this.leftAt) / 1000);
    this.el.meta.replaceChildren(
      h("span", {}, r.id),
      h("span", {}, `${t("col.started")} ${fmtTime(r.started)}`),
      h("span", { id: "run-elapsed" }, `${t("run.elapsed")} ${fmtDuration(runSeconds(r))}`),
      // replaceChildren writes null as the text "null": leave it out.
      ...(left != null ? [h("span", { id: "cap-left", "data-left": Math.round(left) }, t("cap.left", { d: fmtDuration(left) }))] : []),
    );
  }

  renderHead() {
    const r = this.run;
    this.el.title.textContent = r.name;
    this.el.status.replaceChildren(badge(r.status));
    this.renderMeta();
    const c = this.el.controls;
    c.replaceChildren();
    if (r.status === "running") {
      const note = h("span", { class: "muted small", id: "adjust-note" });
      const stop = h(
        "button",
        {
          id: "stop-btn",
          class: "danger",
          onclick: async () => {
            stop.disabled = true;
            stop.textContent = t("run.control.stopping");
            try {
              await api.stopRun(this.id);
            } catch (err) {
              note.textContent = err.message;
              stop.disabled = false;
              stop.textContent = t("cap.stop");
            }
          },
        },
        t("cap.stop"),
      );
      c.append(h("span", { class: "muted small" }, t("cap.control")), stop, note);
    } else {
      c.append(h("a", { class: "button", href: `#/compare?b=${encodeURIComponent(r.id)}`, id: "compare-with" }, t("run.compareWith")));
    }
    this.el.why.replaceChildren();
    if (r.error && r.status !== "running") {
      this.el.why.append(h("div", { class: `alert ${r.status === "failed" || r.status === "interrupted" ? "error" : "info"}` }, `${t("run.why")}: ${r.error}`));
    }
    // The search's result (surge.capacity/v1, and its HTML page), then the
    // reports of the load test the search ran.
    this.el.reports.replaceChildren(
      h("a", { class: "button", href: api.reportURL(this.id, "json"), download: "", id: "report-capacity" }, t("cap.report.json")),
      h("a", { class: "button", href: api.reportURL(this.id, "html"), download: "", id: "report-capacity-html" }, t("cap.report.html")),
      h("span", { class: "muted small" }, t("cap.report.load")),
      ...["html", "json", "csv"].map((f) => h("a", { class: "button", href: api.loadReportURL(this.id, f), download: "", id: `report-${f}` }, f.toUpperCase())),
    );
  }

  renderCapacity() {
    const cap = this.cap;
    const steps = cap.steps || [];
    const cv = curve(steps);
    this.thrChart.set(cv.x, cv.achieved, cv.offered);
    this.latChart.set(cv.x, cv.p50, cv.p99, cv.probe);
    // The probe's line only for a search with a probe.
    const probe = hasProbe(steps);
    if (this.latChart.plot.series[3].show !== probe) this.latChart.plot.setSeries(3, { show: probe });
    const marks = marksOf(cap);
    this.thrChart.setMarks(marks);
    this.latChart.setMarks(marks);
    this.el.result.replaceChildren(...resultView(cap, this.run.status));
    this.el.steps.replaceChildren(...[stepsTable(steps), monitorPeaks(steps)].filter(Boolean));
  }
}

// resultView is what a search found: the max rate, the knee, the
// bottleneck with its evidence; while it runs, what it has so far.
function resultView(c, status) {
  const running = status === "running";
  const tile = (id, label, value, sub) =>
    h("div", { class: "tile", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub muted" }, sub) : null);
  const b = c.bottleneck || {};
  const steps = c.steps || [];
  let maxSub = running ? t("cap.max.sofar") : c.start_missed ? t("cap.startMissed") : c.lower_bound ? t("cap.lowerBound") : c.confirmed ? t("cap.confirmed") : t("cap.unconfirmed");
  const maxTile = tile("cap-max", t("cap.maxRate"), c.start_missed ? "–" : `${fmt(c.max_rate)}/s`, maxSub);
  maxTile.dataset.value = c.max_rate ?? "";
  if (c.lower_bound && !running) maxTile.classList.add("warn");
  const kneeTile = tile("cap-knee", t("cap.knee"), c.knee_rate > 0 ? `${fmt(c.knee_rate)}/s` : "–", (c.plateau_ips || c.plateau_rps) > 0 ? t("cap.plateau", { r: fmt(c.plateau_ips || c.plateau_rps) }) : null);
  const kind = b.kind || "unknown";
  const kindTile = tile("cap-bottleneck", t("cap.bottleneck"), running ? "…" : t(`cap.kind.${kind}`) === `cap.kind.${kind}` ? kind : t(`cap.kind.${kind}`), running ? t("cap.inProgress") : null);
  kindTile.dataset.kind = running ? "" : kind;
  const little = b.concurrency != null && b.service_ms != null;
  const tiles = h(
    "div",
    { class: "tiles" },
    maxTile,
    kneeTile,
    kindTile,
    little ? tile("cap-little", t("cap.little"), fmt(b.concurrency, 1), t("cap.little.sub", { ms: fmtMs(b.service_ms) })) : null,
    tile("cap-nsteps", t("cap.steps"), fmtInt(steps.length), c.duration_s ? fmtDuration(c.duration_s) : null),
  );
  return [
    h("h2", {}, t(running ? "cap.result.sofar" : "cap.result")),
    tiles,
    // While it runs the evidence only says how far the search is.
    b.evidence && running ? h("p", { id: "cap-progress", class: "evidence muted" }, b.evidence) : null,
    b.evidence && !running ? h("p", { id: "cap-evidence", class: `evidence kind-${kind}` }, h("strong", {}, `${kind}: `), b.evidence) : null,
    c.probe_starved
      ? h("p", { id: "cap-probe-starved", class: "alert warn" }, h("strong", {}, t("cap.probeStarved")), " ", c.probe ? h("span", { class: "mono" }, c.probe) : null, " — ", c.probe_starved)
      : null,
    kind === "generator" && !running ? h("p", { class: "alert warn", id: "cap-generator" }, t("cap.generator")) : null,
    h(
      "p",
      { class: "muted small", id: "cap-slo" },
      t("cap.slo.list"),
      " ",
      ...(c.slo || []).map((s) => h("code", {}, s)),
      c.target ? h("span", {}, " · ", h("span", { class: "mono" }, c.target)) : null,
      c.precision ? h("span", {}, " · ", t("cap.precision.is", { p: fmt(100 * c.precision, 1) })) : null,
    ),
  ].filter(Boolean); // replaceChildren writes null as the text "null"
}

// stepsTable lists every step in the order tried.
function stepsTable(steps) {
  if (!steps.length) return h("p", { class: "muted", id: "cap-no-steps" }, t("cap.noSteps"));
  const probe = hasProbe(steps);
  const cols = ["cap.col.n", "cap.col.phase", "cap.col.rate", "cap.col.achieved", "col.p50", "col.p99", "col.errorRate", ...(probe ? ["cap.col.probe"] : []), "cap.col.verdict"];
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { id: "cap-steps-table" },
      h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i >= 2 && k !== "cap.col.verdict" ? "num" : null }, t(k))))),
      h(
        "tbody",
        {},
        steps.map((s, i) => {
          const notes = [...(s.failed || [])];
          if (s.stopped_early) notes.push(t("cap.early") + (s.reason ? `: ${s.reason}` : ""));
          else if (s.reason) notes.push(s.reason);
          if (s.generator_limited) notes.push(t("run.limited.short") + ((s.generator_reasons || []).length ? `: ${s.generator_reasons.join("; ")}` : ""));
          if (s.recovery_s) notes.push(t("cap.recovery", { d: fmt(s.recovery_s, 1) }));
          const verdict = s.generator_limited ? "limited" : s.ok ? "ok" : "fail";
          return h(
            "tr",
            { "data-step": i, "data-phase": s.phase, "data-ok": String(!!s.ok) },
            h("td", { class: "num" }, String(i + 1)),
            h("td", { class: "nowrap" }, t(`cap.phase.${s.phase}`) === `cap.phase.${s.phase}` ? s.phase || "–" : t(`cap.phase.${s.phase}`)),
            h("td", { class: "num", "data-col": "rate" }, `${fmt(s.rate)}/s`),
            h("td", { class: "num", "data-col": "achieved" }, `${fmt(s.achieved_ips || s.achieved_rps)}/s`),
            h("td", { class: "num" }, fmtMs(s.p50_ms)),
            h("td", { class: "num", "data-col": "p99" }, fmtMs(s.p99_ms)),
            h("td", { class: `num ${s.error_rate > 0 ? "bad" : ""}` }, `${fmt(s.error_rate, 2)}%`),
            probe
              ? h(
                  "td",
                  { class: "num", "data-col": "probe" },
                  fmtMs(s.probe_p99_ms),
                  s.probe_errors ? h("div", { class: "small bad" }, t("cap.probe.errors", { n: fmtInt(s.probe_errors), of: fmtInt(s.probes || 0) })) : null,
                )
              : null,
            h(
              "td",
              { "data-col": "verdict" },
              h("span", { class: `badge ${verdict === "ok" ? "ok" : verdict === "fail" ? "bad" : "warn"}` }, t(`cap.verdict.${verdict}`)),
              notes.length ? h("div", { class: "muted small" }, notes.join("; ")) : null,
            ),
          );
        }),
      ),
    ),
  );
}

// maxPeakSeries bounds the rows of the monitor peaks table (per-process
// series multiply with the processes watched).
const maxPeakSeries = 24;

// monitorPeaks is each monitored series' highest value in each step's
// window (the steps' monitors), folded away under the steps: the evidence
// the bottleneck is read from. null when no step has monitors.
function monitorPeaks(steps) {
  const series = [];
  const seen = new Set();
  for (const s of steps) {
    for (const [mon, vals] of Object.entries(s.monitors || {})) {
      for (const key of Object.keys(vals || {}).sort()) {
        const id = mon + "\u0000" + key;
        if (!seen.has(id)) {
          seen.add(id);
          series.push({ mon, key });
        }
      }
    }
  }
  if (!series.length) return null;
  const shown = series.slice(0, maxPeakSeries);
  return h(
    "details",
    { id: "cap-monitor-peaks" },
    h("summary", {}, t("cap.peaks", { n: fmtInt(series.length) })),
    h("p", { class: "muted small" }, t("cap.peaks.help")),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, t("run.monitors.series")), steps.map((s, i) => h("th", { class: "num" }, `${i + 1} · ${fmt(s.rate)}/s`)))),
        h(
          "tbody",
          {},
          shown.map(({ mon, key }) => {
            const f = unitFormat(unitOfKey(key));
            return h(
              "tr",
              { "data-monitor": mon, "data-key": key },
              h("td", { class: "small", title: key }, `${mon} · ${monitorSeriesLabel(key)}`),
              steps.map((s) => {
                const r = s.monitors?.[mon]?.[key];
                return h("td", { class: "num" }, r ? f(r.max) : "–");
              }),
            );
          }),
        ),
      ),
    ),
  );
}

// ---- two searches ------------------------------------------------------------------

// compareCapacity renders GET /api/v1/compare for two capacity searches
// (or a search and a load test: incomparable, with the reason): the
// verdict sentence from the server, the max-rate delta and the curves of
// both.
export async function compareCapacity(page, c, head, form) {
  const runLink = (r, key) =>
    h(
      "div",
      {},
      h("span", { class: "muted" }, t(key) + ": "),
      h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name),
      " ",
      badge(r.status),
      r.kind === "capacity" ? h("span", { class: "badge kind-capacity" }, t("cap.kind")) : null,
      h("span", { class: "muted small mono" }, " " + r.id),
    );
  const verdict = h(
    "div",
    { class: `verdict verdict-${c.verdict}`, id: "verdict", "data-verdict": c.verdict },
    h("div", { class: "big", id: "verdict-headline" }, t(`cap.verdict.summary.${c.verdict}`) === `cap.verdict.summary.${c.verdict}` ? c.verdict : t(`cap.verdict.summary.${c.verdict}`)),
    h("p", { id: "verdict-reason" }, c.reason || "–"),
  );
  const metrics = c.metrics || [];
  const val = (m, v) => (v == null ? "–" : m.unit === "/s" ? `${fmt(v)}/s` : fmt(v));
  const change = (m) => {
    if (m.delta == null) return "–";
    const sign = m.delta > 0 ? "+" : m.delta < 0 ? "−" : "±";
    return m.delta_pct == null ? `${sign}${val(m, Math.abs(m.delta))}` : `${sign}${fmt(Math.abs(m.delta_pct), 1)}%`;
  };
  const table = metrics.length
    ? h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { id: "compare-table" },
          h("thead", {}, h("tr", {}, h("th", {}, t("compare.metric")), h("th", { class: "num" }, "A"), h("th", { class: "num" }, "B"), h("th", { class: "num" }, t("compare.change")), h("th", {}, t("compare.verdict")))),
          h(
            "tbody",
            {},
            metrics.map((m) =>
              h(
                "tr",
                { "data-metric": m.name },
                h("td", {}, t(`cap.metric.${m.name}`) === `cap.metric.${m.name}` ? m.name : t(`cap.metric.${m.name}`)),
                h("td", { class: "num" }, val(m, m.a)),
                h("td", { class: "num" }, val(m, m.b)),
                h("td", { class: "num", "data-col": "change" }, change(m)),
                h("td", {}, h("span", { class: `badge verdict-${m.verdict}`, title: m.reason || null }, t(`verdict.${m.verdict}`) === `verdict.${m.verdict}` ? m.verdict || "–" : t(`verdict.${m.verdict}`))),
              ),
            ),
          ),
        ),
      )
    : null;
  const notes = c.notes || [];
  page.root.replaceChildren(
    head,
    form,
    h("div", { class: "card" }, runLink(c.a, "compare.a"), runLink(c.b, "compare.b")),
    verdict,
    h(
      "section",
      { class: "card" },
      table,
      notes.length ? h("div", {}, h("h4", {}, t("compare.notes")), h("ul", {}, notes.map((n) => h("li", {}, n.text)))) : null,
      h("p", { class: "small muted" }, t("cap.compare.method")),
    ),
  );
  if (c.a.kind !== "capacity" || c.b.kind !== "capacity") return;
  // Both curves, A dashed beside B, on the offered-rate axis.
  const [sa, sb] = await Promise.all([api.summary(c.a.id), api.summary(c.b.id)]);
  const ca = curve(sa.steps);
  const cb = curve(sb.steps);
  const box = (key, id) => h("div", { class: "card chart" }, h("h3", {}, t(key)), h("div", { id }));
  const thr = box("cap.compare.throughput", "compare-chart-throughput");
  const p99 = box("cap.compare.p99", "compare-chart-p99");
  page.root.append(h("div", { class: "charts" }, thr, p99));
  const overlay = (el, pick, opts) => {
    const joined = window.uPlot.join([[ca.x, pick(ca)], [cb.x, pick(cb)]]);
    const ch = new Chart(el.lastChild, [{ label: "A", color: colors.a, dash: [6, 4] }, { label: "B", color: colors.b }], { x: "rate", ...opts });
    ch.set(...joined);
    ch.setMarks([
      { kind: "maxA", x: sa.max_rate, label: t("cap.mark.maxOf", { run: "A", r: fmt(sa.max_rate) }), color: colors.a, row: 0 },
      { kind: "maxB", x: sb.max_rate, label: t("cap.mark.maxOf", { run: "B", r: fmt(sb.max_rate) }), color: colors.b, row: 1 },
    ]);
    page.onLeave(() => ch.destroy());
  };
  overlay(thr, (cv) => cv.achieved, {});
  overlay(p99, (cv) => cv.p99, { unit: "ms" });
}
