// Opportunities (filtered, searched, sorted, paged) and one opportunity with its stage history.

import { call } from "../api.js";
import { facts, h, link, notice, number, replace, section, show, table, when } from "../dom.js";
import { choice, field, filterForm, search } from "../filters.js";
import { listPager } from "../paging.js";
import { OPPORTUNITY_HEADINGS, opportunityRows } from "./accounts.js";

const PAGE_SIZE = 50;
const SORTS = [
  ["close_date", "closing soonest"],
  ["-close_date", "closing latest"],
  ["-amount", "largest first"],
  ["amount", "smallest first"],
  ["-opened_at", "newest first"],
  ["name", "name A–Z"],
];

async function list(container, params) {
  const filters = {
    q: params.get("q") || "",
    stage: params.get("stage") || "",
    owner: params.get("owner") || "",
    sort: params.get("sort") || "close_date",
  };
  const cursor = params.get("cursor") || null;
  const page = await call("opportunity", "/v1/opportunities", { params: { ...filters, cursor, limit: PAGE_SIZE } });
  const form = filterForm("opportunities", [
    search(filters.q),
    field("Stage", "stage", filters.stage),
    field("Owner", "owner", filters.owner),
    choice("Sort", "sort", SORTS, filters.sort),
  ]);
  replace(
    container,
    h("h1", { text: "Opportunities" }),
    form,
    page.items.length
      ? table(OPPORTUNITY_HEADINGS, opportunityRows(page.items), { class: "list", id: "opportunities" })
      : notice("info", "No opportunity matches."),
    listPager("opportunities", filters, cursor, page.next_cursor),
  );
}

async function one(container, opportunityId) {
  const o = await call("opportunity", `/v1/opportunities/${encodeURIComponent(opportunityId)}`);
  replace(
    container,
    h("h1", {}, h("span", { id: "opportunity-name", text: o.name }), h("small", { class: "id", text: ` opportunity ${o.id}` })),
    facts([
      ["Stage", o.stage],
      ["Amount", `${number(o.amount, 2)} (${o.amount_basis})`],
      ["Probability", `${(o.probability * 100).toFixed(0)}%`],
      ["Forecast category", o.forecast_category],
      ["Close date", o.close_date],
      ["Owner", o.owner],
      ["Account", link(o.account_id, "accounts", o.account_id)],
      ["Contact", link(o.contact_id, "contacts", o.contact_id)],
      ["Lead", link(o.lead_id, "leads", o.lead_id)],
      ["Source", o.source_system],
      ["Opened", when(o.opened_at)],
      ["Closed", when(o.closed_at)],
      ["Lost reason", o.lost_reason],
    ]),
    section(
      "Stage history",
      table(
        ["When", "From", "To", "Probability", "Amount", "Close date", "Changed", "By"],
        o.history.map((e) => [when(e.at), show(e.from_stage), e.to_stage, `${(e.probability * 100).toFixed(0)}%`, number(e.amount, 2), e.close_date, e.changed.join(", ") || "–", e.actor]),
        { class: "list" },
      ),
    ),
  );
}

export async function render(container, { parts, params }) {
  if (parts[0]) await one(container, parts[0]);
  else await list(container, params);
}
