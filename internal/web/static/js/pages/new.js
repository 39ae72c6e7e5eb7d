// New test: quick mode (URL) or a scenario file, the load, and where it
// runs (this server or connected agents, agentpick.js).

import { agentPicker } from "../agentpick.js";
import * as api from "../api.js";
import { h } from "../dom.js";
import { field, formErrors, input, isCount, isDuration, problemsOf } from "../form.js";
import { t } from "../i18n.js";
import { targetPicker } from "../target.js";

export async function pageNew(page) {
  const files = await api.scenarios().catch(() => ({ scenarios: [] }));
  // Each field has its own place for an error, so every problem found is
  // shown next to its field at once (form.js).

  const target = targetPicker(files, () => sync());
  const modeOf = target.modeOf;

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
  const where = agentPicker(page);
  const msg = h("div", { class: "form-error", id: "start-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", id: "start-submit" }, t("new.submit"));
  const form = h(
    "form",
    { class: "card", id: "start-form", onsubmit: onSubmit, novalidate: true },
    h("h1", {}, t("new.title")),
    target.el,
    h(
      "fieldset",
      {},
      h("legend", {}, t("new.load")),
      overrideField,
      loadBox,
      field("new.thresholds", thresholds, t("new.thresholds.help")),
      field("new.name", name),
    ),
    where.el,
    msg,
    submit,
  );

  const errors = formErrors(form, msg, submit, "new.errors", "start-error-count");

  // check finds every problem the browser can see before asking the
  // server; the server checks again and may find more.
  function check() {
    const probs = [];
    const bad = (field, key, params) => probs.push({ field, message: t(key, params) });
    target.check(bad);
    if (!loadBox.hidden) {
      if (modelOf() === "open") {
        const r = Number(rate.value);
        if (rate.value.trim() === "" || !Number.isFinite(r) || r <= 0) bad("rate", "new.err.rate");
        if (maxVUs.value && !isCount(maxVUs.value)) bad("max_vus", "new.err.count");
      } else if (!isCount(vus.value)) {
        bad("vus", "new.err.count");
      }
      if (stages.value.trim()) {
        const wrong = stages.value.split(",").map((x) => x.trim()).filter((st) => {
          const m = /^([^:]+):(.+)$/.exec(st);
          return !m || !isDuration(m[1]) || !(Number(m[2]) >= 0) || m[2].trim() === "";
        });
        if (wrong.length) bad("stages", "new.err.stages", { s: wrong.join(", ") });
      } else if (!isDuration(duration.value)) {
        bad("duration", "new.err.duration");
      }
      if (requests.value && !isCount(requests.value)) bad("requests", "new.err.count");
      if (timeout.value.trim() && !isDuration(timeout.value)) bad("timeout", "new.err.duration");
    }
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
    const req = {};
    target.apply(req);
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
    where.apply(req);
    submit.disabled = true;
    submit.textContent = t("new.starting");
    try {
      const { id } = await api.startRun(req);
      page.go(`#/runs/${encodeURIComponent(id)}`);
    } catch (err) {
      errors.show(problemsOf(err));
      submit.disabled = false;
      submit.textContent = t("new.submit");
    }
  }

  sync();
  page.root.replaceChildren(form);
}
