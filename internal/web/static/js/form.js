// Form helpers shared by the start forms (new test, capacity search): a
// labelled field with its own place for an error, and putting the
// problems the browser or the server found next to their fields.

import { h } from "./dom.js";
import { t } from "./i18n.js";

// field labels an input; its error goes in #error-NAME, and a server
// problem naming NAME (or NAME.x, NAME[i]) lands there.
export function field(key, input, help) {
  return h(
    "label",
    { "data-field": input.name },
    h("span", {}, t(key)),
    input,
    help ? h("small", { class: "muted" }, help) : null,
    h("small", { class: "field-error", id: `error-${input.name}`, role: "alert" }),
  );
}

// input is a named input with the id start-NAME.
export function input(name, attrs = {}) {
  return h("input", { name, id: `start-${name}`, ...attrs });
}

// problemsOf is the list of problems an API error carries: every one the
// server found, or its one message and field.
export function problemsOf(err) {
  return err.problems && err.problems.length ? err.problems : [{ field: err.field, message: err.message }];
}

// formErrors shows problems on form: each next to its field (several on
// one field are joined), those with no field of their own in msg, above
// the submit button, under countKey's words for how many there are ({n})
// in #countId.
export function formErrors(form, msg, submit, countKey, countId) {
  // fieldFor finds the form field a problem names: "rate", "load.rate",
  // "stages[1]" or "thresholds[0]" all land on their input.
  function fieldFor(name) {
    if (!name) return null;
    const base = String(name).replace(/\[\d+\]/g, "");
    for (const cand of [base, base.split(".").pop(), base.split(".")[0]]) {
      const el = form.querySelector(`[data-field="${CSS.escape(cand)}"]`);
      if (el && !el.closest("[hidden]")) return el;
    }
    return null;
  }
  return {
    clear() {
      msg.replaceChildren();
      form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
      form.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
    },
    show(problems) {
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
          n > 1 || loose.length === 0 ? h("p", { id: countId }, t(countKey, { n })) : null,
          loose.length ? h("ul", {}, loose.map((m) => h("li", {}, m))) : null,
        ].filter(Boolean),
      );
      (form.querySelector(".invalid input, .invalid textarea, .invalid select") || submit).focus();
    },
  };
}

// isDuration accepts what Go's time.ParseDuration does, above zero: "30s",
// "1m30s", "1.5h", "500ms".
export function isDuration(v) {
  const s = String(v).trim();
  if (!/^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/.test(s)) return false;
  return /[1-9]/.test(s.replace(/(ns|us|µs|ms|s|m|h)/g, ""));
}

// isCount accepts a whole number ≥ 1.
export function isCount(v) {
  const n = Number(v);
  return String(v).trim() !== "" && Number.isInteger(n) && n >= 1;
}

// checkURL adds the problems of a target URL to bad(field, key).
export function checkURL(value, bad, fieldName = "url") {
  const u = value.trim();
  if (!u) return bad(fieldName, "new.err.url.required");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) return bad(fieldName, "new.err.url.scheme");
  try {
    const parsed = new URL(u);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") bad(fieldName, "new.err.url.scheme");
  } catch {
    bad(fieldName, "new.err.url.invalid");
  }
}
