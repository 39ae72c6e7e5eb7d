// What a run tests, as the start forms (new test, capacity search) ask for
// it: quick mode (method, URL, headers, body) or a scenario file's text —
// picked from the server's scenarios folder, uploaded, or pasted.

import * as api from "./api.js";
import { h, rich } from "./dom.js";
import { checkURL, field, input } from "./form.js";
import { t } from "./i18n.js";

// targetPicker builds the target's fieldset; onMode is called when the
// user switches between URL and scenario. check(bad) adds its problems,
// apply(req) its fields to a start request.
export function targetPicker(files, onMode, placeholder = "http://127.0.0.1:8080/api/items") {
  const mode = h("div", { class: "segmented", role: "radiogroup" });
  const modeOf = () => mode.querySelector("input:checked").value;
  const sync = () => {
    const scenario = modeOf() === "scenario";
    urlBox.hidden = scenario;
    scenarioBox.hidden = !scenario;
    if (onMode) onMode(modeOf());
  };
  for (const [v, key] of [["url", "new.mode.url"], ["scenario", "new.mode.scenario"]]) {
    mode.append(h("label", {}, h("input", { type: "radio", name: "mode", id: `mode-${v}`, value: v, checked: v === "url", onchange: sync }), t(key)));
  }
  const method = h("select", { name: "method", id: "start-method" }, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"].map((m) => h("option", {}, m)));
  const url = input("url", { type: "url", placeholder, size: 50 });
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

  return {
    el: h("fieldset", {}, h("legend", {}, t("new.target")), mode, urlBox, scenarioBox),
    modeOf,
    sync,
    check(bad) {
      if (modeOf() === "url") {
        checkURL(url.value, bad);
        headers.value.split("\n").forEach((line, i) => {
          if (line.trim() && !(line.indexOf(":") > 0)) bad("headers", "new.err.header", { n: i + 1 });
        });
      } else if (!scenarioText.value.trim()) {
        bad("scenario", "new.err.scenario");
      }
    },
    apply(req) {
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
    },
  };
}
