// Where a run goes: this server, or connected agents (surge agent) — N of
// them, those with labels, or both — as POST /api/v1/runs (and
// /api/v1/capacity) take it: agents, agent_labels, on_agent_loss
// (docs/api.md, "Runs on agents"). While the form is open it says how many
// agents are connected and how many idle ones match, from GET
// /api/v1/agents every 2 s; the server decides, and its refusal (too few)
// is shown next to the agents field.

import * as api from "./api.js";
import { h, rich } from "./dom.js";
import { field, input, isCount } from "./form.js";
import { t } from "./i18n.js";

// maxAgents is the most agents one run may ask for (the server's bound).
const maxAgents = 1000;

// pollMs is how often the form refreshes the agent list.
const pollMs = 2000;

// parseLabels reads "zone=eu, pool=a" into {zone: "eu", pool: "a"}; bad
// lists the parts that are not k=v.
export function parseLabels(text) {
  const labels = {};
  const bad = [];
  for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf("=");
    if (i <= 0 || i === part.length - 1) bad.push(part);
    else labels[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return { labels, bad };
}

// matches says an agent has every one of labels.
function matches(agentLabels, labels) {
  return Object.entries(labels).every(([k, v]) => (agentLabels || {})[k] === v);
}

// countAgents is what the server's registry would see: agents connected
// (neither connecting nor lost) and the idle ones, not reserved for a
// run, that have every label.
export function countAgents(list, labels) {
  let connected = 0;
  let idle = 0;
  for (const a of list) {
    if (a.state === "lost" || a.state === "connecting") continue;
    connected++;
    if (a.state === "idle" && !a.run && matches(a.labels, labels)) idle++;
  }
  return { connected, idle };
}

// agentPicker builds the "where it runs" fieldset. check(bad) adds its
// problems; apply(req) adds its fields to a start request.
export function agentPicker(page) {
  const where = h("div", { class: "segmented", role: "radiogroup" });
  const whereOf = () => where.querySelector("input:checked").value;
  for (const [v, key] of [["local", "new.where.local"], ["agents", "new.where.agents"]]) {
    where.append(h("label", {}, h("input", { type: "radio", name: "where", id: `where-${v}`, value: v, checked: v === "local", onchange: render }), t(key)));
  }
  const count = input("agents", { type: "number", min: 1, max: maxAgents, step: 1, oninput: render });
  const labels = input("agent_labels", { placeholder: "zone=eu", oninput: render });
  const onLoss = h(
    "select",
    { name: "on_agent_loss", id: "start-on_agent_loss" },
    ["rebalance", "continue", "abort"].map((v) => h("option", { value: v }, t(`new.agents.loss.${v}`))),
  );
  const status = h("p", { class: "small agents-match", id: "agents-match", role: "status" });
  const box = h(
    "div",
    { class: "grid", hidden: true },
    h(
      "div",
      { class: "row wrap" },
      field("new.agents.count", count, t("new.agents.count.help")),
      h("div", { class: "grow" }, field("new.agents.labels", labels, t("new.agents.labels.help"))),
      field("new.agents.loss", onLoss),
    ),
    status,
  );
  const el = h("fieldset", { id: "start-where" }, h("legend", {}, t("new.where")), where, box);

  let list = null; // null: not known (yet, or an older server)
  function render() {
    box.hidden = whereOf() !== "agents";
    if (box.hidden) return;
    if (list == null) {
      status.className = "small agents-match muted";
      status.replaceChildren(t("new.agents.unknown"));
      return;
    }
    const { labels: want } = parseLabels(labels.value);
    const { connected, idle } = countAgents(list, want);
    const asked = isCount(count.value) ? Number(count.value) : Math.max(idle, 1);
    const enough = idle >= asked;
    status.className = `small agents-match ${enough ? "ok" : "bad"}`;
    status.dataset.connected = connected;
    status.dataset.idle = idle;
    status.dataset.enough = enough;
    const words = Object.keys(want).length
      ? t("new.agents.matchLabels", { connected, idle, labels: Object.entries(want).map(([k, v]) => `${k}=${v}`).join(", ") })
      : t("new.agents.match", { connected, idle });
    status.replaceChildren(
      words,
      !enough ? " " + t("new.agents.tooFew", { n: asked }) : "",
      connected === 0 ? h("span", {}, " ", ...rich(t("new.agents.none"))) : "",
    );
  }
  async function refresh() {
    try {
      list = (await api.listAgents()).agents || [];
    } catch {
      list = null;
    }
    render();
  }
  const timer = setInterval(refresh, pollMs);
  page.onLeave(() => clearInterval(timer));
  refresh();

  return {
    el,
    check(bad) {
      if (whereOf() !== "agents") return;
      const c = count.value.trim();
      if (c && (!isCount(c) || Number(c) > maxAgents)) bad("agents", "new.err.agents", { max: maxAgents });
      const { labels: ls, bad: wrong } = parseLabels(labels.value);
      if (wrong.length) bad("agent_labels", "new.err.labels", { s: wrong.join(", ") });
      if (!c && !Object.keys(ls).length && !wrong.length) bad("agents", "new.err.agents.none");
    },
    apply(req) {
      if (whereOf() !== "agents") return;
      if (count.value.trim()) req.agents = Number(count.value);
      const { labels: ls } = parseLabels(labels.value);
      if (Object.keys(ls).length) req.agent_labels = ls;
      req.on_agent_loss = onLoss.value;
    },
  };
}
