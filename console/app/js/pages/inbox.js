// The lead inbox: qualification's lead list (status, owner, text, sort) or, filtered by source, intake's;
// one page at a time by keyset, so it stays as quick with a million leads as with ten.

import { call } from "../api.js";
import { h, link, notice, number, replace, table, when } from "../dom.js";
import { choice, field, filterForm, search } from "../filters.js";
import { listPager } from "../paging.js";

const PAGE_SIZE = 50;
const QUALIFICATION_SORTS = [
  ["-created_at", "newest first"],
  ["created_at", "oldest first"],
  ["-status_since", "status changed, latest first"],
  ["status_since", "status changed, earliest first"],
  ["-fit_score", "fit score, highest first"],
  ["fit_score", "fit score, lowest first"],
  ["-engagement_score", "engagement, highest first"],
  ["engagement_score", "engagement, lowest first"],
];
const INTAKE_SORTS = [
  ["-created_at", "newest first"],
  ["created_at", "oldest first"],
  ["-updated_at", "updated, latest first"],
  ["updated_at", "updated, earliest first"],
  ["last_name", "last name A–Z"],
  ["-last_name", "last name Z–A"],
  ["company", "company A–Z"],
  ["-company", "company Z–A"],
];

function name(first, last) {
  return [first, last].filter(Boolean).join(" ") || "(no name)";
}

async function statusNames() {
  try {
    const catalog = await call("qualification", "/v1/statuses");
    return catalog.statuses.map((s) => s.name);
  } catch {
    return [];
  }
}

/** One page of the list, and how long the service took to answer it. */
async function fetchPage(filters, cursor, bySource) {
  const started = performance.now();
  const page = bySource
    ? await call("intake", "/v1/leads", {
      params: { source: filters.source, q: filters.q, sort: filters.sort, cursor, limit: PAGE_SIZE },
    })
    : await call("qualification", "/v1/leads", {
      params: {
        status: filters.status,
        owner: filters.owner,
        q: filters.q,
        sort: filters.sort,
        cursor,
        limit: PAGE_SIZE,
      },
    });
  return { page, took: performance.now() - started };
}

export async function render(container, { params }) {
  const filters = {
    q: params.get("q") || "",
    status: params.get("status") || "",
    owner: params.get("owner") || "",
    source: params.get("source") || "",
    sort: params.get("sort") || "-created_at",
  };
  const cursor = params.get("cursor") || null;
  const bySource = Boolean(filters.source);
  const sorts = bySource ? INTAKE_SORTS : QUALIFICATION_SORTS;
  if (!sorts.some(([key]) => key === filters.sort)) filters.sort = sorts[0][0];

  // The status catalog and the page are asked for at once: one round trip's wait, not two.
  const [{ page, took }, statuses] = await Promise.all([fetchPage(filters, cursor, bySource), statusNames()]);
  const form = filterForm(
    "inbox",
    [
      search(filters.q),
      choice("Status", "status", [["", "any"], ...statuses.map((s) => [s, s])], filters.status, { disabled: bySource }),
      field("Owner", "owner", filters.owner, { disabled: bySource }),
      field("Source", "source", filters.source, { placeholder: "e.g. website" }),
      choice("Sort", "sort", sorts, filters.sort),
    ],
    { id: "inbox-filters" },
  );
  replace(container, h("h1", { text: "Lead inbox" }), form);
  if (bySource) {
    container.append(
      notice("info", "Filtered by source: intake's list, searched by name, email, company and job title. "
        + "Status and owner filter the list without a source."),
    );
  }


  const rows = bySource
    ? page.items.map((lead) => [
      link(name(lead.profile.first_name, lead.profile.last_name), "leads", lead.id),
      lead.profile.email || "–",
      lead.profile.company || "–",
      lead.profile.job_title || "–",
      lead.profile.country || "–",
      when(lead.created_at),
    ])
    : page.items.map((lead) => [
      link(name(lead.first_name, lead.last_name), "leads", lead.id),
      lead.email || "–",
      lead.company || "–",
      h("span", { class: `status ${lead.category}`, text: lead.status }),
      lead.owner || "–",
      number(lead.fit_score, 1),
      number(lead.engagement_score, 1),
      lead.stale ? "stale" : "",
      when(lead.created_at),
    ]);
  const headings = bySource
    ? ["Name", "Email", "Company", "Job title", "Country", "Created"]
    : ["Name", "Email", "Company", "Status", "Owner", "Fit", "Engagement", "", "Created"];
  container.append(
    rows.length
      ? table(headings, rows, { class: "list", id: "inbox-table" })
      : notice("info", "No lead matches these filters."),
    h(
      "p",
      { class: "meta" },
      `${page.items.length} leads on this page · answered in ${took.toFixed(0)} ms`,
    ),
    listPager("inbox", filters, cursor, page.next_cursor),
  );
}
