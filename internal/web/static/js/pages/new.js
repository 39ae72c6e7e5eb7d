// New test: quick mode (URL) or a scenario file, and the load.

import * as api from "../api.js";
import { h, rich } from "../dom.js";
import { t } from "../i18n.js";

export async function pageNew(page) {
  const files = await api.scenarios().catch(() => ({ scenarios: [] }));
  // Each field has its own place for an error, so every problem found is
  // shown next to its field at once.
  const field = (key, input, help) =>
    h(
      "label",
      { "data-field": input.name },
      h("span", {}, t(key)),
      input,
      help ? h("small", { class: "muted" }, help) : null,
      h("small", { class: "field-error", id: `error-${input.name}`, role: "alert" }),
    );
  const input = (name, attrs = {}) => h("input", { name, id: `start-${name}`, ...attrs });

  const mode = h("div", { class: "segmented", role: "radiogroup" });
  const modeOf = () => mode.querySelector("input:checked").value;
  for (const [v, key] of [["url", "new.mode.url"], ["scenario", "new.mode.scenario"]]) {
    mode.append(h("label", {}, h("input", { type: "radio", name: "mode", id: `mode-${v}`, value: v, checked: v === "url", onchange: sync }), t(key)));
  }
  const method = h("select", { name: "method", id: "start-method" }, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].map((m) => h("option", {}, m)));
  const url = input("url", { type: "url", placeholder: "http://127.0.0.1:8080/api/items", size: 50 });
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

  // fieldFor finds the form field a server problem names: "rate",
  // "load.rate", "stages[1]" or "thresholds[0]" all land on their input.
  function fieldFor(name) {
    if (!name) return null;
    const base = String(name).replace(/\[\d+\]/g, "");
    for (const cand of [base, base.split(".").pop(), base.split(".")[0]]) {
      const el = form.querySelector(`[data-field="${CSS.escape(cand)}"]`);
      if (el && !el.closest("[hidden]")) return el;
    }
    return null;
  }

  function clearErrors() {
    msg.replaceChildren();
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    form.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
  }

  // showErrors puts each problem next to its field (several on one field
  // are joined) and lists those with no field of their own above the button.
  function showErrors(problems) {
    const loose = [];
    for (const p of problems) {
      const el = fieldFor(p.field);
      if (!el) {
        loose.push(p.field ? `${p.field}: ${p.message}` : p.message);
        continue;
      }
      el.classList.add("invalid");
      const out = el.querySelector(".field-error");
      // Beside its field a message need not repeat the field's name.
      const text = p.message.startsWith(`${p.field}: `) ? p.message.slice(p.field.length + 2) : p.message;
      out.textContent = out.textContent ? `${out.textContent}; ${text}` : text;
    }
    const n = problems.length;
    msg.replaceChildren(
      ...[
        n > 1 || loose.length === 0 ? h("p", { id: "start-error-count" }, t("new.errors", { n })) : null,
        loose.length ? h("ul", {}, loose.map((m) => h("li", {}, m))) : null,
      ].filter(Boolean),
    );
    (form.querySelector(".invalid input, .invalid textarea, .invalid select") || submit).focus();
  }

  // check finds every problem the browser can see before asking the
  // server; the server checks again and may find more.
  function check() {
    const probs = [];
    const bad = (field, key, params) => probs.push({ field, message: t(key, params) });
    if (modeOf() === "url") {
      const u = url.value.trim();
      if (!u) bad("url", "new.err.url.required");
      else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) bad("url", "new.err.url.scheme");
      else {
        try {
          const parsed = new URL(u);
          if (parsed.protocol !== "http:" && parsed.protocol !== "https:") bad("url", "new.err.url.scheme");
        } catch {
          bad("url", "new.err.url.invalid");
        }
      }
      headers.value.split("\n").forEach((line, i) => {
        if (line.trim() && !(line.indexOf(":") > 0)) bad("headers", "new.err.header", { n: i + 1 });
      });
    } else if (!scenarioText.value.trim()) {
      bad("scenario", "new.err.scenario");
    }
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
    return probs;
  }

  async function onSubmit(e) {
    e.preventDefault();
    clearErrors();
    const probs = check();
    if (probs.length) {
      showErrors(probs);
      return;
    }
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
      const problems = err.problems && err.problems.length ? err.problems : [{ field: err.field, message: err.message }];
      showErrors(problems);
      submit.disabled = false;
      submit.textContent = t("new.submit");
    }
  }

  sync();
  page.root.replaceChildren(form);
}

// isDuration accepts what Go's time.ParseDuration does, above zero: "30s",
// "1m30s", "1.5h", "500ms".
function isDuration(v) {
  const s = String(v).trim();
  if (!/^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/.test(s)) return false;
  return /[1-9]/.test(s.replace(/(ns|us|µs|ms|s|m|h)/g, ""));
}

// isCount accepts a whole number ≥ 1.
function isCount(v) {
  const n = Number(v);
  return String(v).trim() !== "" && Number.isInteger(n) && n >= 1;
}
