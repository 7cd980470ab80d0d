// Nurture: each track's KPIs (with a chart), the tracks in force, and the enrollments, paged.

import { ApiError, call } from "../api.js";
import { bar } from "../charts.js";
import { h, link, notice, number, percent, replace, section, table, when } from "../dom.js";
import { choice, field, filterForm, search } from "../filters.js";
import { listPager } from "../paging.js";

const PAGE_SIZE = 50;
const SORTS = [
  ["-enrolled", "latest enrolled first"],
  ["enrolled", "first enrolled first"],
  ["-engagement_points", "most engaged first"],
  ["-touches_sent", "most touches first"],
];
const STATES = ["", "active", "requalified", "exhausted", "unsubscribed", "converted"];

async function tracksInForce() {
  try {
    return (await call("nurture", "/v1/tracks")).tracks;
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return null;
    throw error;
  }
}

function kpiSection(kpis) {
  const tracks = kpis.tracks || [];
  if (!tracks.length) return section("Track KPIs", notice("info", "No track has enrolled anyone yet."));
  return section(
    "Track KPIs",
    bar(
      tracks.map((t) => t.track),
      [
        { label: "active", data: tracks.map((t) => t.active) },
        { label: "requalified", data: tracks.map((t) => t.requalified) },
        { label: "exhausted", data: tracks.map((t) => t.exhausted) },
        { label: "archived", data: tracks.map((t) => t.archived) },
      ],
      { stacked: true, label: "leads per track by outcome" },
    ),
    table(
      ["Track", "Enrolled", "Active", "Touches sent", "Engagement rate", "Requalified rate", "Exhausted", "Archived", "Unsubscribed", "Converted"],
      tracks.map((t) => [
        t.track, number(t.enrolled), number(t.active), number(t.touches_sent), percent(t.engagement_rate),
        percent(t.requalified_rate), number(t.exhausted), number(t.archived), number(t.unsubscribed),
        number(t.converted),
      ]),
      { id: "track-kpis", class: "list" },
    ),
  );
}

function tracksSection(tracks) {
  if (tracks === null) return section("Tracks in force", notice("info", "Reading the tracks needs an admin token."));
  return section(
    "Tracks in force",
    table(
      ["Track", "Version", "Entry", "Steps", "Exit", "When exhausted"],
      tracks.map((t) => [
        t.name,
        t.version ?? "–",
        JSON.stringify(t.entry),
        h("ol", {}, (t.steps || []).map((s) => h("li", { text: `${s.channel} after ${s.delay}: ${s.content_ref}` }))),
        JSON.stringify(t.exit),
        JSON.stringify(t.on_exhaustion),
      ]),
      { class: "list" },
    ),
  );
}

export async function render(container, { params }) {
  const filters = {
    track: params.get("track") || "",
    state: params.get("state") || "",
    q: params.get("q") || "",
    sort: params.get("sort") || "-enrolled",
  };
  const cursor = params.get("cursor") || null;
  const [kpis, tracks, page] = await Promise.all([
    call("nurture", "/v1/kpis/tracks"),
    tracksInForce(),
    call("nurture", "/v1/enrollments", { params: { ...filters, cursor, limit: PAGE_SIZE } }),
  ]);
  const form = filterForm("nurture", [
    search(filters.q),
    field("Track", "track", filters.track),
    choice("State", "state", STATES.map((s) => [s, s || "any"]), filters.state),
    choice("Sort", "sort", SORTS, filters.sort),
  ]);
  replace(
    container,
    h("h1", { text: "Nurture" }),
    kpiSection(kpis),
    section(
      "Enrollments",
      form,
      page.items.length
        ? table(
          ["Lead", "Company", "Track", "Status", "Started", "Touches sent", "Engagement", "Ended", "Why"],
          page.items.map((e) => [
            link(e.email || e.lead_id, "leads", e.lead_id), e.company || "–", `${e.track} v${e.track_version}`,
            e.status, when(e.started_at), e.touches_sent, e.engagement_points, when(e.ended_at), e.end_reason || "–",
          ]),
          { class: "list", id: "enrollments" },
        )
        : notice("info", "No enrollment matches."),
      listPager("nurture", filters, cursor, page.next_cursor),
    ),
    tracksSection(tracks),
  );
}
