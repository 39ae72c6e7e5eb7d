// Run history: every run, newest first; pick two to compare.

import * as api from "../api.js";
import { badge, fmt, fmtDuration, fmtInt, fmtMs, fmtTime, h, rich, runSeconds } from "../dom.js";
import { t } from "../i18n.js";

export async function pageHistory(page) {
  const [{ runs }, { agents }] = await Promise.all([
    api.listRuns(),
    // An older server has no agents: the list is just left out.
    api.listAgents().catch(() => ({ agents: [] })),
  ]);
  let picked = []; // ids in the order they were ticked
  const order = new Map(runs.map((r, i) => [r.id, i])); // newest first
  const compareBtn = h("button", { id: "compare-selected", class: "primary", disabled: true, onclick: () => {
    // The older run is the baseline (A), the newer one the candidate (B).
    const [b, a] = [...picked].sort((x, y) => order.get(x) - order.get(y));
    page.go(`#/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  } }, t("history.compare"));
  const hint = h("span", { class: "muted small" }, t("history.selectTwo"));
  const onPick = (id, box) => {
    picked = picked.filter((x) => x !== id);
    if (box.checked) picked.push(id);
    if (picked.length > 2) {
      const first = picked.shift();
      table.querySelector(`input[data-id="${CSS.escape(first)}"]`).checked = false;
    }
    compareBtn.disabled = picked.length !== 2;
  };
  const table = h(
    "table",
    { id: "history-table", class: "clickable" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), ["col.name", "col.status", "col.load", "col.passed", "col.source", "col.started", "col.duration"].map((k) => h("th", {}, t(k))),
        ["col.requests", "col.rps", "col.errorRate", "col.p99"].map((k) => h("th", { class: "num" }, t(k))))),
    h(
      "tbody",
      {},
      runs.map((r) =>
        h(
          "tr",
          { "data-id": r.id, "data-kind": r.kind || "load" },
          h("td", {}, h("input", { type: "checkbox", "aria-label": t("history.select"), "data-id": r.id, onchange: (e) => onPick(r.id, e.target) })),
          h(
            "td",
            {},
            h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name),
            // A capacity search is marked as one: its figures are a search's.
            r.kind === "capacity" ? h("span", { class: "badge kind-capacity", "data-kind": "capacity" }, t("cap.kind")) : null,
            h("div", { class: "muted small mono" }, r.id),
          ),
          h("td", {}, badge(r.status)),
          h("td", { class: "load", "data-col": "load" }, r.kind === "capacity" ? "…" : r.load || t(`model.${r.model}`)),
          h("td", { "data-col": "passed" }, passedBadge(r.passed)),
          h("td", {}, t(`source.${r.source}`)),
          h("td", {}, fmtTime(r.started)),
          h("td", {}, fmtDuration(runSeconds(r))),
          h("td", { class: "num" }, fmtInt(r.requests)),
          h("td", { class: "num" }, fmt(r.rps)),
          h("td", { class: `num ${r.error_rate > 0 ? "bad" : ""}` }, `${fmt(r.error_rate, 2)}%`),
          h("td", { class: "num" }, r.requests ? fmtMs(r.p99_ms) : "–"),
        ),
      ),
    ),
  );
  page.root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, t("history.title")), h("div", { class: "actions" }, hint, compareBtn)),
    runs.length ? h("div", { class: "card scroll" }, table) : h("p", { class: "card muted", id: "history-empty" }, rich(t("history.empty"))),
    ...(agents.length ? agentsCard(agents) : []),
  );
  fillSearches(table, runs);
  // Refresh when a run starts or ends anywhere.
  const es = new EventSource(api.eventsURL);
  let timer;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(() => page.reload(), 300);
  };
  es.addEventListener("run", refresh);
  es.addEventListener("deleted", refresh);
  page.onLeave(() => { es.close(); clearTimeout(timer); });
}

// maxSearchRows bounds how many capacity searches the history asks for
// their result when the list has no headline for them (an older server).
const maxSearchRows = 20;

// fillSearches writes in the load cell of each capacity search what it
// found — "max 180/s · concurrency · 9 steps" — from the list's headline
// (capacity), else from its summary: the load a search offers is its own
// choice, not a setting.
function fillSearches(table, runs) {
  const words = (r, c) => {
    const running = r.status === "running";
    const found = c.start_missed ? t("cap.history.none") : t(running ? "cap.history.sofar" : "cap.history.max", { r: fmt(c.max_rate) });
    const kind = typeof c.bottleneck === "string" ? c.bottleneck : c.bottleneck?.kind;
    const nSteps = typeof c.steps === "number" ? c.steps : (c.steps || []).length;
    const parts = [];
    if (c.lower_bound && !running && !c.start_missed) parts.push(t("cap.history.lowerBound"));
    if (kind && !running) parts.push(t(`cap.kind.${kind}`) === `cap.kind.${kind}` ? kind : t(`cap.kind.${kind}`));
    parts.push(t("cap.history.steps", { n: fmtInt(nSteps) }));
    return [h("span", { "data-max": c.max_rate }, found), h("div", { class: "muted small" }, parts.join(" · "))];
  };
  let asked = 0;
  for (const r of runs) {
    if (r.kind !== "capacity") continue;
    const cell = table.querySelector(`tr[data-id="${CSS.escape(r.id)}"] td[data-col="load"]`);
    if (r.capacity) {
      cell.replaceChildren(...words(r, r.capacity));
      continue;
    }
    if (asked++ >= maxSearchRows) {
      cell.textContent = "–";
      continue;
    }
    api.summary(r.id).then(
      (c) => cell.replaceChildren(...words(r, c)),
      () => (cell.textContent = "–"),
    );
  }
}

// passedBadge says whether a run's thresholds held: pass, fail, or "–" for
// a run without thresholds (or still running).
function passedBadge(passed) {
  if (passed == null) return h("span", { class: "muted", "data-passed": "none" }, "–");
  return h("span", { class: `badge ${passed ? "ok" : "bad"}`, "data-passed": String(passed) }, t(passed ? "run.pass" : "run.fail"));
}

// agentsCard lists the server's agents: who they are, what they do, and
// which share of which run they hold.
function agentsCard(agents) {
  const labels = (l) => Object.entries(l || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return [
    h("div", { class: "page-head" }, h("h2", {}, t("agents.title")), h("span", { class: "muted small" }, rich(t("agents.hint")))),
    h("div", { class: "card scroll" }, h(
      "table",
      { id: "agents-table" },
      h("thead", {}, h("tr", {}, ["col.name", "col.labels", "col.status", "col.version"].map((k) => h("th", {}, t(k))),
        ["col.cores", "col.cpu"].map((k) => h("th", { class: "num" }, t(k))), ["col.run", "col.share"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, agents.map((a) => h(
        "tr",
        { "data-agent": a.name, "data-state": a.state },
        h("td", { class: "mono" }, a.name),
        h("td", { class: "small" }, labels(a.labels)),
        h("td", {}, h("span", { class: `badge agent-${a.state}` }, t(`agents.state.${a.state}`))),
        h("td", { class: "mono small" }, a.version),
        h("td", { class: "num" }, fmtInt(a.cores)),
        h("td", { class: "num" }, fmt(a.cpu, 2)),
        h("td", {}, a.run ? h("a", { href: `#/runs/${encodeURIComponent(a.run)}`, class: "mono small" }, a.run) : "–"),
        h("td", {}, a.share || "–"),
      ))),
    )),
  ];
}
