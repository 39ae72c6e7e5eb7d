// Surge dashboard: a small single-page app on the documented HTTP API
// (docs/api.md). Pages: #/login, #/new, #/capacity (a new capacity
// search), #/runs/ID (a load test or a capacity search), #/history,
// #/compare?a=ID&b=ID. Every string is in i18n.js.

import * as api from "./api.js";
import { errorBox, h, rich } from "./dom.js";
import { getLang, languages, setLang, t } from "./i18n.js";
import { pageCapacityNew } from "./pages/capacity.js";
import { pageCompare } from "./pages/compare.js";
import { pageHistory } from "./pages/history.js";
import { pageNew } from "./pages/new.js";
import { pageRun } from "./pages/run.js";

// ---- app shell ---------------------------------------------------------------

const app = document.getElementById("app");
let cleanup = []; // run when leaving a page: close streams, destroy charts

function leave() {
  for (const f of cleanup) {
    try {
      f();
    } catch {
      /* already gone */
    }
  }
  cleanup = [];
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

api.setUnauthorizedHandler(() => {
  if (!location.hash.startsWith("#/login")) {
    sessionStorage.setItem("surge.after", location.hash || "#/history");
    go("#/login");
  }
});

function renderHeader() {
  const page = (location.hash.split("?")[0].split("/")[1] || "").toLowerCase();
  const link = (href, key, name) =>
    h("a", { href, class: page === name ? "active" : null, id: `nav-${name}` }, t(key));
  const lang = h(
    "select",
    { id: "lang", "aria-label": t("nav.language"), onchange: (e) => { setLang(e.target.value); route(); } },
    Object.entries(languages).map(([code, name]) => h("option", { value: code, selected: code === getLang() }, name)),
  );
  const loggedIn = page !== "login";
  document.getElementById("header").replaceChildren(
    h("a", { href: "#/history", class: "brand" }, h("span", { class: "logo" }, "⚡"), "Surge", h("small", {}, t("app.tagline"))),
    loggedIn ? h("nav", {}, link("#/new", "nav.new", "new"), link("#/capacity", "nav.capacity", "capacity"), link("#/history", "nav.history", "history"), link("#/compare", "nav.compare", "compare")) : h("nav"),
    h(
      "div",
      { class: "right" },
      lang,
      loggedIn
        ? h("button", { class: "link", id: "logout", onclick: async () => { await api.logout().catch(() => {}); go("#/login"); } }, t("nav.logout"))
        : null,
    ),
  );
}

let generation = 0; // of the page shown; a slower, older page must not draw

// newPage is what a page gets: its own root element, navigation, and a way
// to clean up (close streams, destroy charts) when the user leaves.
function newPage() {
  const gen = ++generation;
  const root = h("div", { class: "page" });
  app.replaceChildren(root);
  return {
    root,
    go,
    reload: () => gen === generation && route(),
    onLeave: (f) => (gen === generation ? cleanup.push(f) : f()),
  };
}

async function route() {
  leave();
  document.documentElement.lang = getLang();
  const [path, query] = (location.hash.slice(1) || "/history").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  renderHeader();
  const page = newPage();
  page.root.replaceChildren(h("p", { class: "muted" }, t("common.loading")));
  try {
    switch (parts[0]) {
      case "login":
        return pageLogin(page);
      case "new":
        return await pageNew(page);
      case "capacity":
        return await pageCapacityNew(page);
      case "runs":
        return await pageRun(page, decodeURIComponent(parts[1] || ""));
      case "compare":
        return await pageCompare(page, params.get("a"), params.get("b"));
      case "history":
      default:
        return await pageHistory(page);
    }
  } catch (err) {
    if (err.status === 401) return;
    page.root.replaceChildren(errorBox(err));
  }
}

window.addEventListener("hashchange", route);

// ---- login ---------------------------------------------------------------------

function pageLogin(page) {
  const secret = h("input", { id: "login-secret", type: "password", autocomplete: "current-password", required: true });
  const msg = h("div", { class: "form-error", id: "login-error", role: "alert" });
  const form = h(
    "form",
    {
      class: "card login",
      onsubmit: async (e) => {
        e.preventDefault();
        msg.textContent = "";
        try {
          await api.login(secret.value);
          const after = sessionStorage.getItem("surge.after") || "#/history";
          sessionStorage.removeItem("surge.after");
          go(after.startsWith("#/login") ? "#/history" : after);
        } catch (err) {
          msg.textContent = err.status === 401 ? t("login.wrong") : err.message;
        }
      },
    },
    h("h1", {}, t("login.title")),
    h("p", { class: "muted" }, rich(t("login.help"))),
    h("label", {}, t("login.secret"), secret),
    msg,
    h("button", { type: "submit", class: "primary", id: "login-submit" }, t("login.submit")),
  );
  page.root.replaceChildren(form);
  secret.focus();
}

// ---- start -----------------------------------------------------------------------

setLang(getLang());
route();
