// The console's shell: a hash router, the session (pasted token) and the page modules.

import { ApiError, forgetToken, loadConfig, token } from "./api.js";
import { h, notice, replace } from "./dom.js";
import * as charts from "./charts.js";
import * as accounts from "./pages/accounts.js";
import * as criteria from "./pages/criteria.js";
import * as duplicates from "./pages/duplicates.js";
import * as inbox from "./pages/inbox.js";
import * as lead from "./pages/lead.js";
import * as nurture from "./pages/nurture.js";
import * as opportunities from "./pages/opportunities.js";
import * as reports from "./pages/reports.js";
import * as signIn from "./pages/token.js";

const PAGES = {
  token: signIn.render,
  inbox: inbox.render,
  leads: lead.render,
  duplicates: duplicates.render,
  criteria: criteria.render,
  reports: reports.render,
  nurture: nurture.render,
  accounts: accounts.renderAccounts,
  contacts: accounts.renderContact,
  opportunities: opportunities.render,
};

let generation = 0;

/** The route in the address bar: page name, path parts after it, query parameters. */
export function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = hash.split("?", 2);
  const [page = "", ...parts] = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: page || "inbox", parts, params: new URLSearchParams(search) };
}

/** Go to a route, keeping the query parameters that have a value. */
export function navigate(page, params = {}, ...parts) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const path = [page, ...parts.map((part) => encodeURIComponent(part))].join("/");
  const text = search.toString();
  location.hash = `#/${path}${text ? `?${text}` : ""}`;
}

function showSession() {
  const holder = document.getElementById("session");
  if (!token()) {
    replace(holder, h("a", { href: "#/token", text: "Sign in" }));
    return;
  }
  const signOut = h("button", {
    type: "button",
    class: "link",
    text: "Forget token",
    onclick: () => {
      forgetToken();
      navigate("token");
    },
  });
  replace(holder, "Signed in with a pasted token · ", signOut);
}

function markNav(page) {
  for (const item of document.querySelectorAll("#nav a")) {
    item.classList.toggle("current", item.dataset.page === page);
  }
}

async function show() {
  const mine = ++generation;
  charts.destroyAll();
  const route = currentRoute();
  const main = document.getElementById("main");
  document.body.dataset.ready = "";
  const page = token() ? route.page : "token";
  if (page === "token" && route.page !== "token") {
    navigate("token", { next: location.hash.slice(1) });
    return;
  }
  showSession();
  markNav(page);
  const render = PAGES[page];
  const container = h("div", { class: "page", "data-page": page });
  replace(main, container);
  if (!render) {
    replace(container, notice("error", `No page named ${page}.`));
    document.body.dataset.ready = page;
    return;
  }
  try {
    await render(container, { parts: route.parts, params: route.params, isCurrent: () => mine === generation });
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) {
      forgetToken();
      navigate("token", { next: location.hash.slice(1), refused: "1" });
      return;
    }
    container.append(notice("error", error.message));
    if (!(error instanceof ApiError)) throw error;
  } finally {
    if (mine === generation) {
      // Milliseconds from the document's navigation to this page drawn: the page-load time people feel.
      document.body.dataset.readyAt = String(Math.round(performance.now()));
      document.body.dataset.ready = page;
    }
  }
}

async function start() {
  await loadConfig();
  window.addEventListener("hashchange", show);
  await show();
}

start().catch((error) => {
  replace(document.getElementById("main"), notice("error", `The console could not start: ${error.message}`));
  throw error;
});
