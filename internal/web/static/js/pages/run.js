// One run: live (Server-Sent Events) while it runs, from the store after.
// A capacity search has a page of its own (capacity.js).

import * as api from "../api.js";
import {
  Chart,
  colors,
  columns,
  fmtBytes,
  groupSignature,
  hasPhases,
  methodKind,
  monitorColumn,
  monitorGroups,
  monitorKeyOf,
  monitorPalette,
  monitorSeriesLabel,
  phaseBar,
  phaseColors,
  phaseNames,
  phaseStats,
  phaseTitle,
  phaseValue,
  protocolText,
  row,
} from "../charts.js";
import { badge, errorBox, fmt, fmtDuration, fmtInt, fmtMs, fmtTime, h, rich, runSeconds } from "../dom.js";
import { t } from "../i18n.js";
import { loadOf, loadRows, loadText, wordsOf, yaml } from "../plan.js";
import { CapacityView } from "./capacity.js";

export async function pageRun(page, id) {
  // A run the server cannot find shows its error from the stream (RunView).
  const run = await api.getRun(id).catch(() => null);
  const view = run && run.kind === "capacity" ? new CapacityView(page, id) : new RunView(page, id);
  page.onLeave(() => view.close());
  await view.open();
}

class RunView {
  constructor(page, id) {
    this.page = page;
    this.id = id;
    this.points = [];
    this.charts = [];
    this.monCharts = [];
    this.monSig = "";
  }

  async open() {
    this.build();
    // The stream starts with the full state, then one interval a second,
    // and ends with the final state.
    this.es = new EventSource(api.runEventsURL(this.id));
    this.es.addEventListener("state", (e) => this.state(JSON.parse(e.data)));
    this.es.addEventListener("interval", (e) => this.interval(JSON.parse(e.data)));
    this.es.addEventListener("adjust", (e) => this.addEvent(JSON.parse(e.data)));
    this.es.addEventListener("end", (e) => {
      this.state(JSON.parse(e.data));
      this.es.close();
    });
    this.es.onerror = async () => {
      // A closed stream reconnects by itself; find out if it was a 401/404.
      if (this.es.readyState === EventSource.CLOSED) return;
      try {
        await api.getRun(this.id);
      } catch (err) {
        this.es.close();
        if (err.status !== 401) this.page.root.replaceChildren(errorBox(err));
      }
    };
    this.tick = setInterval(() => this.updateElapsed(), 1000);
    this.agentTick = setInterval(() => this.pollAgents(), 2000);
  }

  close() {
    this.es?.close();
    clearInterval(this.tick);
    clearInterval(this.agentTick);
    this.charts.forEach((c) => c.destroy());
    this.monCharts.forEach((c) => c.destroy());
  }

  build() {
    this.el = {
      title: h("h1", { id: "run-name" }),
      status: h("span", { id: "run-status" }),
      meta: h("div", { class: "meta muted" }),
      controls: h("div", { class: "controls", id: "run-controls" }),
      why: h("div", { id: "run-why" }),
      limited: h("div", { id: "run-limited" }),
      tiles: h("div", { class: "tiles", id: "run-tiles" }),
      agents: h("section", { class: "card", id: "run-agents", hidden: true }),
      endpoints: h("div", { id: "run-endpoints" }),
      phases: h("div", { id: "run-phases", hidden: true }),
      flows: h("section", { class: "card", id: "run-flows", hidden: true }),
      errors: h("div", { id: "run-errors" }),
      thresholds: h("div", { id: "run-thresholds" }),
      warnings: h("div", { id: "run-warnings" }),
      events: h("div", { id: "run-events" }),
      reports: h("div", { class: "reports", id: "run-reports" }),
      load: h("dl", { class: "plan-load", id: "plan-load" }),
      plan: h("pre", { class: "mono small", id: "plan-text" }),
      monitors: h("section", { class: "card", id: "run-monitors", hidden: true }),
    };
    const chartBox = (key, id, help) =>
      h("div", { class: "card chart" }, h("h3", {}, t(key)), h("div", { id }), help ? h("p", { class: "muted small chart-help" }, help) : null);
    const rpsBox = chartBox("run.chart.throughput", "chart-rps", t("run.chart.throughput.help"));
    const latBox = chartBox("run.chart.latency", "chart-latency");
    const vusBox = chartBox("run.chart.vus", "chart-vus");
    const e = this.el;
    this.page.root.replaceChildren(
      h("div", { class: "run-head" }, h("div", {}, h("div", { class: "title-row" }, e.title, e.status), e.meta), e.controls),
      e.why,
      e.limited,
      e.tiles,
      h("div", { class: "charts" }, rpsBox, latBox, vusBox),
      e.agents,
      e.monitors,
      h("section", { class: "card" }, h("h2", {}, t("run.endpoints")), e.endpoints, e.phases),
      e.flows,
      h("div", { class: "two" }, h("section", { class: "card" }, h("h2", {}, t("run.errors")), e.errors), h("section", { class: "card" }, h("h2", {}, t("run.thresholds")), e.thresholds, e.warnings)),
      h("div", { class: "two" }, h("section", { class: "card" }, h("h2", {}, t("run.events")), e.events), h("section", { class: "card" }, h("h2", {}, t("run.reports")), e.reports)),
      h("section", { class: "card", id: "run-plan" }, h("h2", {}, t("run.plan")), e.load, h("details", {}, h("summary", {}, t("run.plan.full")), e.plan)),
    );
    const chartEl = (box) => box.querySelector("h3 + div");
    this.rpsChart = new Chart(
      chartEl(rpsBox),
      [
        { label: t("series.rps"), color: colors.rps },
        { label: t("series.offered"), color: colors.offered, dash: [6, 4] },
        { label: t("series.errors"), color: colors.errors },
      ],
      { sync: "run" },
    );
    this.latChart = new Chart(
      chartEl(latBox),
      [
        { label: "p50", color: colors.p50 },
        { label: "p95", color: colors.p95 },
        { label: "p99", color: colors.p99 },
      ],
      { unit: "ms", sync: "run" },
    );
    this.vusChart = new Chart(chartEl(vusBox), [{ label: t("series.vus"), color: colors.vus }], { sync: "run" });
    this.charts = [this.rpsChart, this.latChart, this.vusChart];
  }

  state(st) {
    this.run = st.run;
    this.summary = st.summary;
    this.points = st.summary.timeline || [];
    const c = columns(this.points);
    this.rpsChart.set(c.x, c.rps, c.offered, c.errors);
    this.latChart.set(c.x, c.p50, c.p95, c.p99);
    this.vusChart.set(c.x, c.vus);
    this.renderMonitors(true);
    this.renderHead();
    this.renderSummary();
    this.renderEvents();
    this.renderPlan();
    if (this.run.status === "running" && !this.polled) {
      this.polled = true;
      this.pollAgents();
    }
  }

  // renderPlan shows the offered load flag by flag, and the whole plan as
  // a scenario file would say it.
  renderPlan() {
    const load = loadOf(this.run, this.summary);
    this.el.load.replaceChildren(
      ...loadRows(load).map(([k, v]) => h("div", { "data-key": k }, h("dt", {}, k), h("dd", { class: "mono" }, v))),
    );
    this.el.load.title = loadText(load);
    const plan = wordsOf(this.run.plan || {});
    this.el.plan.textContent = yaml(plan) || "–";
  }

  interval(iv) {
    const p = iv.point;
    this.points.push(p);
    this.summary = { ...iv.summary, timeline: this.points };
    const r = row(p);
    this.rpsChart.push(r.x, r.rps, r.offered, r.errors);
    this.latChart.push(r.x, r.p50, r.p95, r.p99);
    this.vusChart.push(r.x, r.vus);
    this.renderMonitors(false, p);
    this.renderSummary();
    if (iv.summary.events) this.renderEvents();
  }

  // renderMonitors draws the target monitors' charts under the load charts,
  // one per monitor and unit, on the same x values (elapsed seconds) and
  // cursor sync; a failed scrape (null) is a gap. A live point (p) is
  // appended, unless it brings series the charts lack: then, as for a new
  // state (full), they are built again from every point. Below them, each
  // monitor's series with min/mean/max/last and its scrapes and failures,
  // from the summary.
  renderMonitors(full, p) {
    const mons = this.summary?.monitors || [];
    const groups = monitorGroups(this.points, mons);
    const sig = groupSignature(groups);
    if (!full && sig === this.monSig && p) {
      const x = p.elapsed_s;
      for (const c of this.monCharts) c.push(x, ...c.keys.map((k) => monitorColumn([p], c.monitor, k)[0]));
      this.renderMonitorTables(mons);
      return;
    }
    this.monSig = sig;
    this.monCharts.forEach((c) => c.destroy());
    this.monCharts = [];
    const box = this.el.monitors;
    if (!groups.length && !mons.length) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    const grid = h("div", { class: "charts", id: "monitor-charts" });
    this.el.monTables = h("div", { id: "monitor-tables" });
    box.replaceChildren(h("h2", {}, t("run.monitors")), h("p", { class: "muted small" }, t("run.monitors.help")), grid, this.el.monTables);
    const xs = this.points.map((q) => q.elapsed_s);
    groups.forEach((g, i) => {
      const id = `chart-monitor-${i}`;
      const el = h("div", { id, "data-monitor": g.monitor, "data-unit": g.unit });
      grid.append(h("div", { class: "card chart" }, h("h3", {}, `${g.monitor} · ${t(unitTitleKey(g.unit))}`), el));
      const ch = new Chart(
        el,
        g.keys.map((k, j) => ({ label: monitorSeriesLabel(k), color: monitorPalette[j % monitorPalette.length] })),
        { unit: g.unit, sync: "run" },
      );
      ch.monitor = g.monitor;
      ch.keys = g.keys;
      ch.set(xs, ...g.keys.map((k) => monitorColumn(this.points, g.monitor, k)));
      this.monCharts.push(ch);
    });
    this.renderMonitorTables(mons);
  }

  renderMonitorTables(mons) {
    const box = this.el.monTables;
    if (!box) return;
    const cell = (v, unit) => h("td", { class: "num" }, monitorValue(v, unit));
    const table = (series) =>
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "monitor-series" },
          h("thead", {}, h("tr", {}, h("th", {}, t("run.monitors.series")), ...["min", "mean", "max", "last"].map((c) => h("th", { class: "num" }, t(`run.monitors.${c}`))))),
          h(
            "tbody",
            {},
            series.map((s) => h("tr", {}, h("td", { class: "mono small" }, monitorKeyOf(s)), cell(s.min, s.unit), cell(s.mean, s.unit), cell(s.max, s.unit), cell(s.last, s.unit))),
          ),
        ),
      );
    box.replaceChildren(
      ...mons.map((m) =>
        h(
          "div",
          { class: "monitor", "data-monitor": m.name },
          h(
            "h3",
            {},
            m.name,
            " ",
            h("span", { class: "muted small mono" }, m.url),
            " ",
            h("span", { class: `muted small${m.failed ? " bad" : ""}`, "data-scrapes": m.scrapes, "data-failed": m.failed }, t("run.monitors.scrapes", { n: fmtInt(m.scrapes || 0), failed: fmtInt(m.failed || 0) })),
          ),
          m.scrapes && m.failed === m.scrapes ? h("p", { class: "alert error small" }, t("run.monitors.allFailed"), m.last_error ? ": " + m.last_error : "") : null,
          ...(() => {
            // The derived series first; the endpoint's own folded away.
            const all = m.series || [];
            const derived = all.filter((s) => isDerived(s.name));
            const raw = all.filter((s) => !isDerived(s.name));
            return [
              derived.length ? table(derived) : null,
              raw.length ? h("details", { class: "monitor-raw" }, h("summary", {}, t("run.monitors.raw", { n: fmtInt(raw.length) })), table(raw)) : null,
            ];
          })(),
        ),
      ),
    );
  }

  addEvent(ev) {
    this.run.events = [...(this.run.events || []), ev];
    this.renderEvents();
  }

  updateElapsed() {
    if (this.run && this.run.status === "running") this.renderMeta();
  }

  renderMeta() {
    const r = this.run;
    this.el.meta.replaceChildren(
      h("span", {}, r.id),
      h("span", {}, t(`model.${r.model}`)),
      h("span", {}, t(`source.${r.source}`)),
      h("span", {}, `${t("col.started")} ${fmtTime(r.started)}`),
      h("span", { id: "run-elapsed" }, `${t("run.elapsed")} ${fmtDuration(runSeconds(r))}`),
    );
  }

  renderHead() {
    const r = this.run;
    this.el.title.textContent = r.name;
    this.el.status.replaceChildren(badge(r.status));
    this.renderMeta();
    const c = this.el.controls;
    c.replaceChildren();
    if (r.status === "running" && r.control) {
      const isRate = r.control === "rate";
      const value = h("input", { id: "adjust-value", type: "number", min: 0, step: isRate ? "any" : 1, value: this.currentLoad() });
      const note = h("span", { class: "muted small", id: "adjust-note" });
      const apply = h("button", {
        id: "adjust-apply",
        onclick: async () => {
          const v = Number(value.value);
          try {
            await api.adjustRun(this.id, isRate ? { rate: v } : { vus: v });
            note.textContent = t("run.control.applied", { v: isRate ? `${fmt(v)}/s` : `${fmtInt(v)} VUs` });
          } catch (err) {
            note.textContent = err.message;
          }
        },
      }, t("run.control.apply"));
      const stop = h("button", {
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
            stop.textContent = t("run.control.stop");
          }
        },
      }, t("run.control.stop"));
      c.append(
        h("label", { class: "inline" }, h("span", {}, t(isRate ? "run.control.rate" : "run.control.vus")), value),
        apply,
        stop,
        note,
      );
    } else if (r.status === "running") {
      c.append(h("p", { class: "muted small" }, rich(t("run.control.recorded"))));
    } else {
      c.append(h("a", { class: "button", href: `#/compare?b=${encodeURIComponent(r.id)}`, id: "compare-with" }, t("run.compareWith")));
    }
    this.el.why.replaceChildren();
    if (r.error && r.status !== "running") {
      this.el.why.append(h("div", { class: `alert ${r.status === "failed" || r.status === "interrupted" ? "error" : "info"}` }, `${t("run.why")}: ${whyText(r)}`));
    }
    this.el.reports.replaceChildren(
      ...["html", "json", "csv"].map((f) => h("a", { class: "button", href: api.reportURL(this.id, f), download: "", id: `report-${f}` }, f.toUpperCase())),
    );
  }

  // currentLoad is the rate or VU count now in force: the last adjustment,
  // or the plan's.
  currentLoad() {
    const adj = (this.run.events || []).filter((e) => e.kind === "adjust").pop();
    if (adj) return parseFloat(adj.detail.replace(/^rate /, ""));
    const load = this.run.plan?.load || {};
    return this.run.control === "rate" ? load.rate || 0 : load.vus || 0;
  }

  renderSummary() {
    const s = this.summary;
    const last = this.points[this.points.length - 1];
    const tile = (id, label, value, sub) =>
      h("div", { class: "tile", id: `tile-${id}` }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub muted" }, sub) : null);
    const running = this.run.status === "running";
    const errRate = s.totals.requests ? (100 * s.totals.errors) / s.totals.requests : 0;
    const open = (s.run.model || this.run.model) === "open";
    const dropped = s.totals.dropped_iterations || 0;
    const due = s.totals.due_iterations;
    const droppedTile = tile(
      "dropped",
      t("run.dropped"),
      fmtInt(dropped),
      due != null ? t("run.dropped.ofDue", { due: fmtInt(due), pct: fmt(due ? (100 * dropped) / due : 0, 2) }) : t("run.dropped.help"),
    );
    if (dropped > 0) droppedTile.classList.add("warn");
    this.el.tiles.replaceChildren(
      // While it runs, the last interval says where the load is now;
      // afterwards the whole run's average is the figure to keep.
      running
        ? tile("rps", t("run.rps"), last ? fmt(last.rps) : "–", t("run.rps.help"))
        : tile("rps", t("run.rps"), fmt(s.totals.rps), t("run.wholeRun")),
      tile("requests", t("run.requests"), fmtInt(s.totals.requests), running ? `${fmt(s.totals.rps)}/s ${t("run.wholeRun")}` : fmtDuration(s.run.duration_s)),
      tile("errors", t("run.errorRate"), `${fmt(errRate, 2)}%`, t("run.errors.count", { n: fmtInt(s.totals.errors) })),
      tile("p50", t("run.p50"), fmtMs(s.latency_ms.p50), t("run.wholeRun")),
      tile("p95", t("run.p95"), fmtMs(s.latency_ms.p95), t("run.wholeRun")),
      tile("p99", t("run.p99"), fmtMs(s.latency_ms.p99), t("run.wholeRun")),
      running
        ? tile("vus", t("run.vus"), last ? fmtInt(last.vus) : "–", null)
        : tile("vus", t("run.vus"), fmtInt(s.run.max_vus || 0), t("run.vus.peak")),
      // replaceChildren writes null as the text "null": leave it out.
      ...(open || dropped > 0 ? [droppedTile] : []),
    );
    this.renderLimited(s);
    this.renderAgents(s);
    this.renderEndpoints(s);
    this.renderPhases(s);
    this.renderFlows(s);
    this.renderErrors(s);
    this.renderThresholds(s);
  }

  // renderLimited warns that Surge itself could not hold the plan, so the
  // figures describe the generator as much as the target.
  renderLimited(s) {
    const g = s.generator || {};
    if (!g.limited) {
      this.el.limited.replaceChildren();
      return;
    }
    const reasons = g.reasons || [];
    this.el.limited.replaceChildren(
      h(
        "div",
        { class: "alert warn", role: "alert", id: "limited-banner" },
        h("strong", {}, t("run.limited")),
        " ",
        t("run.limited.help"),
        reasons.length ? h("ul", { class: "warnings" }, reasons.map((r) => h("li", {}, r))) : null,
      ),
    );
  }

  // renderAgents lists the agents of a run on agents. While it runs, each
  // agent's state and CPU come from the server's agent list (pollAgents);
  // what each one did — requests, errors, its share of the requests, lost
  // or limited — comes from the summary's agents[], computed from each
  // agent's own parts of the intervals: in the summaries so far, when the
  // server's live summaries carry them, updated with every interval, and
  // in the final summary. Without them, while it runs, the rows are the
  // agent list's (slice and state). A local run has neither, and no card.
  renderAgents(s) {
    const box = this.el.agents;
    const done = s.agents || [];
    const live = this.liveAgents || [];
    if (!done.length && !live.length) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    const running = this.run.status === "running";
    const total = done.reduce((n, a) => n + (a.requests || 0), 0);
    const byName = new Map(live.map((a) => [a.name, a]));
    // The summary's rows are in the order the run was given the agents:
    // agent k of N is row k.
    const rows = done.length
      ? done.map((a, i) => ({ ...a, slice: `${i + 1}/${done.length}`, now: byName.get(a.name) }))
      : live.map((a) => ({ name: a.name, slice: a.share, now: a }));
    const state = (a) => {
      if (a.lost || a.now?.state === "lost") {
        return h("span", { class: "badge bad", "data-state": "lost" }, t("run.agents.lost"));
      }
      if (running) return h("span", { class: "badge status-running", "data-state": "running" }, t("run.agents.running"));
      return h("span", { class: "badge ok", "data-state": "ok" }, t("run.agents.ok"));
    };
    const cpu = (a) => (running && a.now ? fmt(a.now.cpu, 2) : a.cpu_max_cores != null ? fmt(a.cpu_max_cores, 2) : "–");
    const has = (a) => a.requests != null;
    const cols = ["col.name", "col.status", "col.share", "col.requests", "col.failures", "col.requestShare", running ? "col.cpu" : "col.cpuMax", "col.dropped", "col.startLag"];
    box.replaceChildren(
      h("h2", {}, t("run.agents")),
      h("p", { class: "muted small", id: "agents-help" }, t(done.length ? (running ? "run.agents.helpLive" : "run.agents.help") : "run.agents.live")),
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { id: "agents-run-table" },
          h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 2 ? "num" : null }, t(k))))),
          h(
            "tbody",
            {},
            rows.map((a) =>
              h(
                "tr",
                { "data-agent": a.name, "data-lost": String(!!(a.lost || a.now?.state === "lost")), "data-limited": String(!!a.limited) },
                h("td", { class: "mono" }, a.name),
                h(
                  "td",
                  {},
                  state(a),
                  a.limited ? h("span", { class: "badge warn", title: (a.reasons || []).join("; ") || t("run.limited.help") }, t("run.limited.short")) : null,
                  a.lost && a.lost_at ? h("div", { class: "muted small" }, t("run.agents.lostAt", { t: fmtTime(a.lost_at) })) : null,
                  a.limited && a.reasons && a.reasons.length ? h("div", { class: "muted small" }, a.reasons.join("; ")) : null,
                ),
                h("td", { class: "mono", "data-col": "slice" }, a.slice || "–"),
                h("td", { class: "num", "data-col": "requests" }, has(a) ? fmtInt(a.requests) : "–"),
                h("td", { class: `num ${a.errors ? "bad" : ""}`, "data-col": "errors" }, has(a) ? fmtInt(a.errors) : "–"),
                h("td", { class: "num", "data-col": "share" }, has(a) && total ? `${fmt((100 * a.requests) / total, 1)}%` : "–"),
                h("td", { class: "num", "data-col": "cpu" }, cpu(a)),
                h("td", { class: "num" }, has(a) ? fmtInt(a.dropped_iterations || 0) : "–"),
                h("td", { class: "num" }, has(a) ? fmtMs(a.start_lag_p99_ms) : "–"),
              ),
            ),
          ),
        ),
      ),
    );
  }

  // pollAgents keeps liveAgents, the server's agents that work for this
  // run, while it runs; an older server without agents has none.
  async pollAgents() {
    if (!this.run || this.run.status !== "running") {
      this.liveAgents = [];
      return;
    }
    try {
      const { agents } = await api.listAgents();
      this.liveAgents = (agents || []).filter((a) => a.run === this.id);
    } catch {
      this.liveAgents = [];
    }
    if (this.summary) this.renderAgents(this.summary);
  }

  renderEndpoints(s) {
    if (!s.endpoints.length) {
      this.el.endpoints.replaceChildren(h("p", { class: "muted" }, t("run.noData")));
      return;
    }
    const cols = ["col.name", "col.method", "col.requests", "col.failures", "col.rps", "col.p50", "col.p95", "col.p99", "col.max"];
    this.el.endpoints.replaceChildren(
      h(
        "div",
        { class: "scroll" },
        h(
        "table",
        { id: "endpoints-table" },
        h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 1 ? "num" : null }, t(k))))),
        h(
          "tbody",
          {},
          s.endpoints.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, e.name),
              h("td", {}, methodLabel(e.method)),
              h("td", { class: "num" }, fmtInt(e.requests)),
              h("td", { class: `num ${e.errors ? "bad" : ""}` }, fmtInt(e.errors)),
              h("td", { class: "num" }, fmt(e.rps)),
              h("td", { class: "num" }, fmtMs(e.latency_ms.p50)),
              h("td", { class: "num" }, fmtMs(e.latency_ms.p95)),
              h("td", { class: "num" }, fmtMs(e.latency_ms.p99)),
              h("td", { class: "num" }, fmtMs(e.latency_ms.max)),
            ),
          ),
        ),
        ),
      ),
    );
  }

  // renderPhases shows, under the endpoints, where each one's time went:
  // per endpoint its protocol(s) and a bar of its timing phases at the
  // chosen percentile (p95 unless the user picks another), each phase's
  // share of their sum, then a table of the figures with all four of each
  // phase in its cell's title. A WebSocket or gRPC endpoint keeps its row,
  // with its method and no bar; a run none of whose endpoints has phases
  // (an older run, or one of WebSocket and gRPC steps only) has no part.
  // The picker is made once, so a live update keeps the user's choice.
  renderPhases(s) {
    const box = this.el.phases;
    const eps = s.endpoints || [];
    const timed = eps.filter(hasPhases);
    if (!timed.length) {
      box.hidden = true;
      box.replaceChildren();
      this.el.phaseBody = null;
      return;
    }
    box.hidden = false;
    if (!this.el.phaseBody) {
      this.phaseStat ||= "p95";
      const picker = h(
        "div",
        { class: "segmented", id: "phase-stat", role: "radiogroup", "aria-label": t("run.phases.stat") },
        phaseStats.map((k) =>
          h(
            "label",
            {},
            h("input", {
              type: "radio",
              name: "phase-stat",
              value: k,
              id: `phase-stat-${k}`,
              checked: k === this.phaseStat,
              onchange: () => {
                this.phaseStat = k;
                if (this.summary) this.renderPhases(this.summary);
              },
            }),
            k,
          ),
        ),
      );
      this.el.phaseLegend = h("ul", { class: "phase-legend", id: "phase-legend" });
      this.el.phaseBody = h("div", {});
      box.replaceChildren(
        h("h3", {}, t("run.phases")),
        h("p", { class: "muted small" }, rich(t("run.phases.help"))),
        h("div", { class: "phase-tools" }, h("span", { class: "small muted" }, t("run.phases.stat")), picker, this.el.phaseLegend),
        this.el.phaseBody,
      );
    }
    const stat = this.phaseStat;
    const cols = phaseNames.filter((p) => timed.some((e) => e.phases_ms[p]));
    this.el.phaseLegend.replaceChildren(
      ...cols.map((p) => h("li", { "data-phase": p, title: t(`phase.${p}.help`) }, h("span", { class: "swatch", style: `background: ${phaseColors[p]}` }), t(`phase.${p}`))),
    );
    const name = (e) =>
      h("div", { class: "phase-name" }, h("span", { class: "phase-endpoint" }, e.name), " ", methodLabel(e.method), " ", h("span", { class: "muted small", "data-col": "protocol" }, protocolText(e)));
    const bars = h(
      "div",
      { class: "phase-rows", id: "phase-bars" },
      eps.map((e) =>
        hasPhases(e)
          ? h(
              "div",
              { class: "phase-row", "data-endpoint": e.name, "data-method": e.method },
              name(e),
              phaseBar(e, stat),
              h("div", { class: "phase-total", title: t("run.phases.latencyHelp", { stat }) }, fmtMs(e.latency_ms?.[stat])),
            )
          : h(
              "div",
              { class: "phase-row", "data-endpoint": e.name, "data-method": e.method, "data-phases": "none" },
              name(e),
              h("div", { class: "muted small phase-none" }, t("run.phases.none")),
              h("div", {}),
            ),
      ),
    );
    const table = h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "phases-table", "data-stat": stat },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, t("col.name")),
            h("th", {}, t("col.protocol")),
            cols.map((p) => h("th", { class: "num", "data-phase": p, title: t(`phase.${p}.help`) }, t(`phase.${p}`))),
            h("th", { class: "num", "data-col": "latency" }, t("run.phases.latency")),
          ),
        ),
        h(
          "tbody",
          {},
          timed.map((e) =>
            h(
              "tr",
              { "data-endpoint": e.name, "data-method": e.method },
              h("td", {}, e.name, " ", methodLabel(e.method)),
              h("td", { class: "small", "data-col": "protocol" }, protocolText(e)),
              cols.map((p) =>
                e.phases_ms[p]
                  ? h("td", { class: "num", "data-phase": p, title: phaseTitle(e, p) }, fmtMs(phaseValue(e, p, stat)))
                  : h("td", { class: "num muted", "data-phase": p }, "–"),
              ),
              h("td", { class: "num", "data-col": "latency" }, fmtMs(e.latency_ms?.[stat])),
            ),
          ),
        ),
      ),
    );
    this.el.phaseBody.replaceChildren(bars, table);
  }

  // renderFlows shows, beside the endpoints, how long each flow's
  // iterations took end to end and each poll step's polls (with their
  // timeouts): the summary's flows and polls. As the HTML report, it
  // leaves out a run whose flows each send one request an iteration
  // (quick mode's): their durations are their endpoints'. Once shown, the
  // card stays while the run goes on.
  renderFlows(s) {
    const box = this.el.flows;
    const flows = s.flows || [];
    const polls = s.polls || [];
    this.flowsShown ||= polls.length > 0 || flows.some((f) => f.cut > 0 || f.requests !== f.iterations + f.cut);
    if (!this.flowsShown) {
      box.hidden = true;
      box.replaceChildren();
      return;
    }
    box.hidden = false;
    const d = (x, k) => h("td", { class: "num", "data-col": k }, fmtMs(x.duration_ms ? x.duration_ms[k] : null));
    const per = (n, of) => (of ? fmt(n / of, 2) : "–");
    const table = (id, cols, rows) =>
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { id },
          h("thead", {}, h("tr", {}, cols.map((k, i) => h("th", { class: i > 0 ? "num" : null }, t(k))))),
          h("tbody", {}, rows),
        ),
      );
    const cutNote = (id, key, n) => (n > 0 ? h("p", { class: "muted small", id }, t(key, { n: fmtInt(n) })) : null);
    const sum = (xs) => xs.reduce((n, x) => n + (x.cut || 0), 0);
    // replaceChildren writes null as the text "null": the parts a run
    // lacks are filtered out.
    const parts = [
      h("h2", {}, t("run.flows")),
      h("p", { class: "muted small" }, t("run.flows.help")),
      flows.length
        ? table(
            "flows-table",
            ["col.flow", "col.iterations", "col.failures", "col.cut", "col.requests", "col.perIteration", "col.p50", "col.p95", "col.p99", "col.max"],
            flows.map((f) =>
              h(
                "tr",
                { "data-flow": f.name },
                h("td", {}, f.name),
                h("td", { class: "num", "data-col": "iterations" }, fmtInt(f.iterations)),
                h("td", { class: `num ${f.errors ? "bad" : ""}`, "data-col": "errors" }, fmtInt(f.errors)),
                h("td", { class: "num", "data-col": "cut" }, fmtInt(f.cut)),
                h("td", { class: "num", "data-col": "requests" }, fmtInt(f.requests)),
                h("td", { class: "num", "data-col": "per" }, per(f.requests, f.iterations + f.cut)),
                d(f, "p50"),
                d(f, "p95"),
                d(f, "p99"),
                d(f, "max"),
              ),
            ),
          )
        : null,
      cutNote("flows-cut", "run.flows.cut", sum(flows)),
      polls.length ? h("h3", {}, t("run.polls")) : null,
      polls.length ? h("p", { class: "muted small" }, t("run.polls.help")) : null,
      polls.length
        ? table(
            "polls-table",
            ["col.poll", "col.polls", "col.timeouts", "col.cut", "col.attempts", "col.perPoll", "col.p50", "col.p95", "col.p99", "col.max"],
            polls.map((p) =>
              h(
                "tr",
                { "data-poll": p.name },
                h("td", {}, p.name),
                h("td", { class: "num", "data-col": "polls" }, fmtInt(p.polls)),
                h("td", { class: `num ${p.timeouts ? "bad" : ""}`, "data-col": "timeouts" }, fmtInt(p.timeouts)),
                h("td", { class: "num", "data-col": "cut" }, fmtInt(p.cut)),
                h("td", { class: "num", "data-col": "attempts" }, fmtInt(p.attempts)),
                h("td", { class: "num", "data-col": "per" }, per(p.attempts, p.polls + p.cut)),
                d(p, "p50"),
                d(p, "p95"),
                d(p, "p99"),
                d(p, "max"),
              ),
            ),
          )
        : null,
      cutNote("polls-cut", "run.polls.cut", sum(polls)),
    ];
    box.replaceChildren(...parts.filter(Boolean));
  }

  renderErrors(s) {
    const classes = Object.entries(s.errors || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    const msgs = s.error_messages || [];
    if (!classes.length && !msgs.length) {
      this.el.errors.replaceChildren(h("p", { class: "muted", id: "no-errors" }, t("run.noErrors")));
      return;
    }
    this.el.errors.replaceChildren(
      h("h4", {}, t("run.errors.byClass")),
      h(
        "table",
        { id: "errors-table" },
        h("thead", {}, h("tr", {}, h("th", {}, t("col.class")), h("th", { class: "num" }, t("col.count")))),
        h("tbody", {}, classes.map(([c, n]) => h("tr", {}, h("td", { class: "mono" }, c), h("td", { class: "num" }, fmtInt(n))))),
      ),
      msgs.length ? h("h4", {}, t("run.errors.byMessage")) : null,
      msgs.length
        ? h(
            "table",
            { id: "messages-table" },
            h("thead", {}, h("tr", {}, h("th", {}, t("col.message")), h("th", { class: "num" }, t("col.count")))),
            h("tbody", {}, msgs.slice(0, 20).map((m) => h("tr", {}, h("td", { class: "mono small wrap" }, m.message), h("td", { class: "num" }, fmtInt(m.count))))),
          )
        : null,
    );
  }

  renderThresholds(s) {
    const ths = s.thresholds || [];
    this.el.thresholds.replaceChildren(
      ths.length
        ? h(
            "div",
            { class: "scroll" },
            h(
              "table",
              { id: "thresholds-table" },
              h("thead", {}, h("tr", {}, h("th", {}, t("col.expr")), h("th", { class: "num" }, t("col.value")), h("th", {}, t("col.result")))),
              h(
                "tbody",
                {},
                ths.map((th) =>
                  h(
                    "tr",
                    {},
                    h("td", { class: "mono" }, th.expr),
                    // An error (an endpoint that does not exist) wraps; a figure does not.
                    h("td", { class: th.error ? "small wrap" : "num" }, th.error ? th.error : th.unit === "ms" ? fmtMs(th.value) : `${fmt(th.value, 2)}${th.unit ? " " + th.unit : ""}`),
                    h(
                      "td",
                      {},
                      h("span", { class: `badge ${th.ok ? "ok" : "bad"}`, "data-limited": th.limited ? "true" : null }, t(th.ok ? "run.pass" : "run.fail")),
                      th.limited ? h("span", { class: "badge warn", title: t("run.limited.help") }, t("run.limited.short")) : null,
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, t("run.thresholds.none")),
    );
    const warns = s.generator?.warnings || [];
    this.el.warnings.replaceChildren(
      ...(warns.length ? [h("h4", {}, t("run.warnings")), h("ul", { class: "warnings" }, warns.map((w) => h("li", {}, w)))] : []),
    );
  }

  // renderEvents lists what happened to the load: the summary's events
  // (rate and VU changes, stops) and the server's own (an interruption),
  // without listing a change twice when both know it.
  renderEvents() {
    const started = new Date(this.run.started);
    const items = [];
    const fromSummary = (this.summary && this.summary.events) || [];
    for (const e of fromSummary) {
      const at = e.elapsed_s ?? (new Date(e.t) - started) / 1000;
      items.push({ at, kind: e.kind, text: summaryEventText(e) });
    }
    for (const e of this.run.events || []) {
      const at = (new Date(e.t) - started) / 1000;
      const twin = fromSummary.some(
        (x) => Math.abs((x.elapsed_s ?? (new Date(x.t) - started) / 1000) - at) < 2 && (x.kind === e.kind || (e.kind === "adjust" && (x.kind === "rate" || x.kind === "vus"))),
      );
      if (twin) continue;
      const text =
        e.kind === "adjust" ? t("run.event.adjust", { d: adjustText(e.detail) }) : e.kind === "stop" ? t("run.event.stop") : e.kind === "interrupted" ? t("run.event.interrupted", { d: e.detail }) : `${e.kind}: ${e.detail}`;
      items.push({ at, kind: e.kind, text });
    }
    items.sort((a, b) => a.at - b.at);
    this.el.events.replaceChildren(
      items.length
        ? h("ul", { class: "events" }, items.map((e) => h("li", { "data-kind": e.kind }, h("span", { class: "muted" }, fmtDuration(e.at)), " ", e.text)))
        : h("p", { class: "muted" }, "–"),
    );
  }
}

// methodLabel is an endpoint's method as the summary names it, marked as
// a badge when it is not HTTP (WS, WS-OPEN, GRPC).
function methodLabel(method) {
  const kind = methodKind(method);
  return kind ? h("span", { class: `badge kind-${kind}`, "data-kind": kind }, method) : h("span", { class: "mono small" }, method || "–");
}

// summaryEventText words one of the summary's events.
function summaryEventText(e) {
  const detail = e.detail ? ` (${e.detail})` : "";
  switch (e.kind) {
    case "rate":
      return t("run.event.adjust", { d: `${fmt(e.value, 2)}/s` }) + detail;
    case "vus":
      return t("run.event.adjust", { d: `${fmtInt(e.value)} ${t("series.vus")}` }) + detail;
    case "stop":
      return t("run.event.stop") + detail;
  }
  return `${e.kind}${e.value != null ? ": " + e.value : ""}${detail}`;
}

// whyText says why a run ended, in the UI's language when the server's
// reason is one it knows.
function whyText(run) {
  if (run.status === "stopped" && run.error === "stopped from the API") return t("run.why.api");
  if (run.status === "stopped" && run.error.includes("shutting down")) return t("run.why.shutdown");
  if (run.status === "interrupted" && run.error.includes("server stopped")) return t("run.why.serverDied");
  if (run.status === "interrupted" && run.error.includes("stopped sending")) return t("run.why.recorderGone");
  return run.error;
}

// adjustText shows a load change ("rate 80/s" or "12 VUs") with the UI's
// number format and words.
function adjustText(detail) {
  let m = /^rate ([0-9.]+)\/s$/.exec(detail);
  if (m) return `${fmt(+m[1])}/s`;
  m = /^([0-9]+) VUs$/.exec(detail);
  if (m) return `${fmtInt(+m[1])} ${t("series.vus")}`;
  return detail;
}

// isDerived says whether a monitor series is one the scraper derives
// (host_…, process CPU and RSS, cgroup_…) rather than the endpoint's own.
function isDerived(name) {
  return /^(host|cgroup)_/.test(name) || ["process_cpu_cores", "process_cpu_percent_of_limit", "process_rss_bytes"].includes(name);
}

// unitTitleKey is the i18n key of a monitor chart's title by its unit.
function unitTitleKey(unit) {
  return { "%": "monitor.unit.percent", B: "monitor.unit.bytes", "B/s": "monitor.unit.bytesPerSecond", "/s": "monitor.unit.perSecond" }[unit] || "monitor.unit.count";
}

// monitorValue formats a monitor series' figure in its unit.
function monitorValue(v, unit) {
  if (v == null) return "–";
  if (unit === "cores") return `${fmt(v, 2)} cores`;
  if (unit === "s") return `${fmt(v, 3)} s`;
  if (unit === "B") return fmtBytes(v);
  if (unit === "B/s") return `${fmtBytes(v)}/s`;
  if (unit === "%") return `${fmt(v, 1)}%`;
  if (unit === "/s") return `${fmt(v, 2)}/s`;
  if (unit === "") return fmt(v, 2);
  return `${fmt(v, 2)} ${unit}`;
}
