// New test: quick mode (URL) or a scenario file, and the load.

import * as api from "../api.js";
import { h, rich } from "../dom.js";
import { t } from "../i18n.js";

export async function pageNew(page) {
  const files = await api.scenarios().catch(() => ({ scenarios: [] }));
  const field = (key, input, help) =>
    h("label", { "data-field": input.name }, h("span", {}, t(key)), input, help ? h("small", { class: "muted" }, help) : null);
  const input = (name, attrs = {}) => h("input", { name, id: `start-${name}`, ...attrs });

  const mode = h("div", { class: "segmented", role: "radiogroup" });
  const modeOf = () => mode.querySelector("input:checked").value;
  for (const [v, key] of [["url", "new.mode.url"], ["scenario", "new.mode.scenario"]]) {
    mode.append(h("label", {}, h("input", { type: "radio", name: "mode", id: `mode-${v}`, value: v, checked: v === "url", onchange: sync }), t(key)));
  }
  const method = h("select", { name: "method", id: "start-method" }, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].map((m) => h("option", {}, m)));
  const url = input("url", { type: "url", placeholder: "http://127.0.0.1:8080/api", size: 50 });
  const headers = h("textarea", { name: "headers", id: "start-headers", rows: 3, placeholder: "Authorization: Bearer …" });
  const body = h("textarea", { name: "body", id: "start-body", rows: 3 });
  const urlBox = h(
    "div",
    { class: "grid" },
    h("div", { class: "row" }, field("new.method", method), h("div", { class: "grow" }, field("new.url", url))),
    field("new.headers", headers, t("new.headers.help")),
    field("new.body", body),
  );

  const scenarioText = h("textarea", { name: "scenario", id: "start-scenario", rows: 12, spellcheck: "false", class: "mono" });
  const pick = h(
    "select",
    {
      id: "start-scenario-file",
      onchange: async (e) => {
        if (!e.target.value) return;
        const f = await api.scenarioText(e.target.value);
        scenarioText.value = f.text;
      },
    },
    h("option", { value: "" }, t("new.scenario.choose")),
    files.scenarios.map((f) => h("option", { value: f.name }, f.name)),
  );
  const upload = h("input", {
    type: "file",
    accept: ".yaml,.yml",
    onchange: async (e) => {
      const f = e.target.files[0];
      if (f) scenarioText.value = await f.text();
    },
  });
  const scenarioBox = h(
    "div",
    { class: "grid", hidden: true },
    files.scenarios.length
      ? h("label", {}, h("span", {}, t("new.scenario.pick")), pick)
      : h("p", { class: "muted" }, rich(t("new.scenario.none"))),
    h("label", {}, h("span", {}, t("new.scenario.upload")), upload),
    field("new.scenario.text", scenarioText),
  );

  const model = h("div", { class: "segmented", role: "radiogroup" });
  const modelOf = () => model.querySelector("input:checked").value;
  for (const [v, key] of [["open", "new.model.open"], ["closed", "new.model.closed"]]) {
    model.append(h("label", {}, h("input", { type: "radio", name: "model", id: `model-${v}`, value: v, checked: v === "open", onchange: sync }), t(key)));
  }
  const modelHelp = h("p", { class: "muted small" });
  const rate = input("rate", { type: "number", min: 0, step: "any", value: 50 });
  const vus = input("vus", { type: "number", min: 1, step: 1, value: 10 });
  const maxVUs = input("max_vus", { type: "number", min: 1, step: 1 });
  const duration = input("duration", { value: "30s", placeholder: "30s" });
  const stages = input("stages", { placeholder: "30s:100,1m:100,30s:0" });
  const requests = input("requests", { type: "number", min: 1, step: 1 });
  const timeout = input("timeout", { value: "10s" });
  const thresholds = h("textarea", { name: "thresholds", id: "start-thresholds", rows: 2, placeholder: "p99<200ms\nerrors<1%" });
  const name = input("name");
  // A scenario file sets its own load; the form overrides it only on request.
  const override = h("input", { type: "checkbox", id: "start-override", onchange: sync });
  const overrideField = h("label", { class: "inline" }, override, h("span", {}, t("new.override")));
  const rateField = field("new.rate", rate);
  const vusField = field("new.vus", vus);
  const maxField = field("new.maxVUs", maxVUs);

  function sync() {
    const scenario = modeOf() === "scenario";
    urlBox.hidden = scenario;
    scenarioBox.hidden = !scenario;
    const open = modelOf() === "open";
    rateField.hidden = !open;
    maxField.hidden = !open;
    vusField.hidden = open;
    modelHelp.textContent = t(open ? "new.model.open.help" : "new.model.closed.help");
    overrideField.hidden = !scenario;
    loadBox.hidden = scenario && !override.checked;
  }

  const loadBox = h(
    "div",
    { class: "grid" },
    model,
    modelHelp,
    h("div", { class: "row wrap" }, rateField, vusField, maxField, field("new.duration", duration, t("new.duration.help")), field("new.timeout", timeout)),
    h("div", { class: "row wrap" }, h("div", { class: "grow" }, field("new.stages", stages, t("new.stages.help"))), field("new.requests", requests)),
  );
  const msg = h("div", { class: "form-error", id: "start-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "start-submit" }, t("new.submit"));
  const form = h(
    "form",
    { class: "card", id: "start-form", onsubmit: onSubmit, novalidate: true },
    h("h1", {}, t("new.title")),
    h("fieldset", {}, h("legend", {}, t("new.target")), mode, urlBox, scenarioBox),
    h(
      "fieldset",
      {},
      h("legend", {}, t("new.load")),
      overrideField,
      loadBox,
      field("new.thresholds", thresholds, t("new.thresholds.help")),
      field("new.name", name),
    ),
    msg,
    submit,
  );

  async function onSubmit(e) {
    e.preventDefault();
    msg.textContent = "";
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    const req = {};
    if (modeOf() === "url") {
      req.url = url.value.trim();
      req.method = method.value;
      const hs = {};
      for (const line of headers.value.split("\n")) {
        const i = line.indexOf(":");
        if (i > 0) hs[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      if (Object.keys(hs).length) req.headers = hs;
      if (body.value) req.body = body.value;
    } else {
      req.scenario = scenarioText.value;
    }
    if (!loadBox.hidden) {
      if (modelOf() === "open") {
        req.rate = Number(rate.value);
        if (maxVUs.value) req.max_vus = Number(maxVUs.value);
      } else {
        req.vus = Number(vus.value);
      }
      if (stages.value.trim()) req.stages = stages.value.trim();
      else if (duration.value.trim()) req.duration = duration.value.trim();
      if (requests.value) req.requests = Number(requests.value);
      if (timeout.value.trim() && timeout.value.trim() !== "10s") req.timeout = timeout.value.trim();
    }
    const ths = thresholds.value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (ths.length) req.thresholds = ths;
    if (name.value.trim()) req.name = name.value.trim();
    submit.disabled = true;
    submit.textContent = t("new.starting");
    try {
      const { id } = await api.startRun(req);
      page.go(`#/runs/${encodeURIComponent(id)}`);
    } catch (err) {
      msg.textContent = err.message;
      if (err.field) form.querySelector(`[data-field="${err.field}"]`)?.classList.add("invalid");
      submit.disabled = false;
      submit.textContent = t("new.submit");
    }
  }

  sync();
  page.root.replaceChildren(form);
}
