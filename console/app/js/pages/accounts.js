// Accounts (searched, sorted, paged), one account with its contacts and opportunities, and one contact.

import { call } from "../api.js";
import { facts, h, link, notice, number, replace, section, show, table, when } from "../dom.js";
import { choice, filterForm, search } from "../filters.js";
import { listPager } from "../paging.js";

const PAGE_SIZE = 50;
const SORTS = [
  ["name", "name A–Z"],
  ["-name", "name Z–A"],
  ["-created_at", "newest first"],
  ["created_at", "oldest first"],
];

function name(contact) {
  return [contact.first_name, contact.last_name].filter(Boolean).join(" ") || contact.email || contact.id;
}

export function opportunityRows(opportunities) {
  return opportunities.map((o) => [
    link(o.name, "opportunities", o.id), o.stage, number(o.amount, 2), `${(o.probability * 100).toFixed(0)}%`,
    o.close_date, o.owner || "–",
  ]);
}

export const OPPORTUNITY_HEADINGS = ["Opportunity", "Stage", "Amount", "Probability", "Close date", "Owner"];

async function accountList(container, params) {
  const filters = { q: params.get("q") || "", sort: params.get("sort") || "name" };
  const cursor = params.get("cursor") || null;
  const page = await call("opportunity", "/v1/accounts", { params: { ...filters, cursor, limit: PAGE_SIZE } });
  const form = filterForm("accounts", [search(filters.q), choice("Sort", "sort", SORTS, filters.sort)]);
  replace(
    container,
    h("h1", { text: "Accounts" }),
    form,
    page.items.length
      ? table(
        ["Account", "Domain", "Contacts", "Open opportunities", "Created"],
        page.items.map((a) => [link(a.name, "accounts", a.id), show(a.domain), a.contacts, a.open_opportunities, when(a.created_at)]),
        { class: "list", id: "accounts" },
      )
      : notice("info", "No account matches."),
    listPager("accounts", filters, cursor, page.next_cursor),
  );
}

async function account(container, accountId) {
  const found = await call("opportunity", `/v1/accounts/${encodeURIComponent(accountId)}`);
  replace(
    container,
    h("h1", {}, h("span", { id: "account-name", text: found.name }), h("small", { class: "id", text: ` account ${found.id}` })),
    facts([["Domain", found.domain], ["Created", when(found.created_at)]]),
    section(
      "Contacts",
      table(
        ["Contact", "Email", "Job title", "Owner", "From lead"],
        found.contacts.map((c) => [link(name(c), "contacts", c.id), show(c.email), show(c.job_title), show(c.owner), link(c.lead_id.slice(0, 8), "leads", c.lead_id)]),
        { class: "list" },
      ),
    ),
    section("Opportunities", found.opportunities.length ? table(OPPORTUNITY_HEADINGS, opportunityRows(found.opportunities), { class: "list" }) : notice("info", "None.")),
  );
}

export async function renderAccounts(container, { parts, params }) {
  if (parts[0]) await account(container, parts[0]);
  else await accountList(container, params);
}

export async function renderContact(container, { parts }) {
  const found = await call("opportunity", `/v1/contacts/${encodeURIComponent(parts[0] || "")}`);
  const check = found.criteria_check;
  replace(
    container,
    h("h1", {}, h("span", { id: "contact-name", text: name(found) }), h("small", { class: "id", text: ` contact ${found.id}` })),
    facts([
      ["Account", link(found.account_name, "accounts", found.account_id)],
      ["Email", found.email],
      ["Phone", found.phone],
      ["Job title", found.job_title],
      ["Owner", found.owner],
      ["Source", found.source_system],
      ["Created", when(found.created_at)],
    ]),
    section("Leads", h("ul", {}, found.leads.map((l) => h("li", {}, link(l.lead_id, "leads", l.lead_id), ` converted ${when(l.converted_at)}`)))),
    section("Signals", Object.keys(found.signals || {}).length ? facts(Object.entries(found.signals)) : notice("info", "No sales signal yet.")),
    section(
      "Opportunity criteria",
      check
        ? table(["Condition", "Value", "Needs", "Held"], check.conditions.map((c) => [c.condition, show(c.value), c.required, show(c.held)]))
        : notice("info", "Not checked yet."),
    ),
    section("Opportunities", found.opportunities.length ? table(OPPORTUNITY_HEADINGS, opportunityRows(found.opportunities), { class: "list" }) : notice("info", "None.")),
  );
}
