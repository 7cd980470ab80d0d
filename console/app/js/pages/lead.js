// One lead across the four services: intake's profile and touches, qualification's decision and history,
// what opportunity made of it, its nurture enrolment, and the four timelines merged by time.

import { call, maybe } from "../api.js";
import { facts, h, link, notice, number, replace, section, show, table, when } from "../dom.js";

const SERVICES = ["intake", "qualification", "opportunity", "nurture"];
const TIMELINE_PAGE = 500;
const TIMELINE_MAX = 5000;

const PROFILE_FIELDS = [
  ["First name", "first_name"],
  ["Last name", "last_name"],
  ["Email", "email"],
  ["Phone", "phone"],
  ["Company", "company"],
  ["Company domain", "company_domain"],
  ["Website", "website"],
  ["Job title", "job_title"],
  ["Seniority", "seniority"],
  ["Country", "country"],
  ["Industry", "industry"],
  ["Company size", "company_size"],
  ["Test lead", "is_test"],
];

/** Every timeline item of one service (following its cursors), or null when it has no fact of the lead. */
async function timelineOf(service, leadId) {
  const first = await maybe(service, `/v1/leads/${encodeURIComponent(leadId)}/timeline`, {
    params: { limit: TIMELINE_PAGE },
  });
  if (!first) return null;
  const items = [...first.items];
  let cursor = first.next_cursor;
  while (cursor && items.length < TIMELINE_MAX) {
    const next = await call(service, `/v1/leads/${encodeURIComponent(leadId)}/timeline`, {
      params: { limit: TIMELINE_PAGE, cursor },
    });
    items.push(...next.items);
    cursor = next.next_cursor;
  }
  return { ...first, items, truncated: Boolean(cursor) };
}

/** The four timelines as one, oldest first (ties keep the services' own order). */
export function mergeTimelines(timelines) {
  const merged = [];
  SERVICES.forEach((service, rank) => {
    const timeline = timelines[service];
    if (!timeline) return;
    timeline.items.forEach((item, position) => merged.push({ ...item, service, rank, position }));
  });
  merged.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.rank - b.rank || a.position - b.position);
  return merged;
}

function profileSection(intakeLead) {
  if (!intakeLead) return section("Profile", notice("info", "Intake has no lead with this id."));
  const profile = intakeLead.profile || {};
  const parts = [
    facts([
      ...PROFILE_FIELDS.map(([label, key]) => [label, profile[key]]),
      ["Created", when(intakeLead.created_at)],
      ["Updated", when(intakeLead.updated_at)],
    ]),
  ];
  const answers = profile.answers || {};
  if (Object.values(answers).some(Boolean)) {
    parts.push(h("h3", { text: "Qualifying answers" }), facts(Object.entries(answers)));
  }
  const consent = profile.consent || {};
  if (Object.keys(consent).length) parts.push(h("h3", { text: "Consent" }), facts(Object.entries(consent)));
  const custom = profile.custom_fields || {};
  if (Object.keys(custom).length) parts.push(h("h3", { text: "Custom fields" }), facts(Object.entries(custom)));
  return section("Profile", parts);
}

function touchesSection(intakeLead) {
  const touches = intakeLead ? intakeLead.touches : [];
  if (!touches.length) return section("Touches", notice("info", "No touch recorded."));
  const rows = touches.map((touch) => [
    when(touch.occurred_at),
    touch.channel,
    touch.source_system,
    show(touch.source_id),
    Object.entries(touch.campaign || {})
      .filter(([, value]) => value)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ") || "–",
  ]);
  return section("Touches", table(["When", "Channel", "Source", "Source id", "Campaign"], rows, { id: "touches" }));
}

function held(value) {
  if (value === true) return h("span", { class: "held yes", text: "✓ held" });
  if (value === false) return h("span", { class: "held no", text: "✗ failed" });
  return h("span", { class: "held unknown", text: "? unknown" });
}

function decisionSection(lead) {
  if (!lead) return section("Qualification", notice("info", "Qualification has not judged this lead yet."));
  const parts = [
    facts([
      ["Status", h("span", { class: `status ${lead.category}`, text: lead.status })],
      ["Category", lead.category],
      ["Since", when(lead.status_since)],
      ["Owner", lead.owner],
      ["Team", lead.team],
      ["Fit score", number(lead.fit_score, 1)],
      ["Engagement score", number(lead.engagement_score, 1)],
      ["Stale", lead.stale ? `since ${when(lead.stale_since)}` : false],
      ["Held by a person's decision", lead.manual_override],
      ["Disqualification reason", lead.disqualification_reason],
    ]),
  ];
  const decision = lead.decision;
  if (!decision) {
    parts.push(notice("info", "No decision yet."));
  } else {
    parts.push(
      h("h3", { text: "Decision" }),
      h(
        "div",
        { id: "decision" },
        facts([
          ["Outcome", decision.outcome],
          ["Reason", decision.reason],
          ["Criteria version", h("span", { id: "criteria-version", text: String(decision.criteria_version) })],
          ["Evaluated", when(decision.evaluated_at)],
          ["Nurturable", decision.nurturable],
          ["Budget amount", decision.budget_amount],
          ["Timeline (days)", decision.timeline_days],
        ]),
        h("h4", { text: "Conditions" }),
        table(
          ["Condition", "Kind", "Result", "Value", "From", "Explanation"],
          (decision.conditions || []).map((c) => [
            c.name, c.kind, held(c.held), show(c.value), c.source, c.explanation,
          ]),
          { id: "conditions" },
        ),
        h("h4", { text: "Fit rules" }),
        table(
          ["Rule", "Weight", "Required", "Result", "Value"],
          (decision.fit_rules || []).map((rule) => [
            rule.name, rule.weight, show(rule.required), held(rule.held), show(rule.value),
          ]),
        ),
        h("h4", { text: "Why" }),
        h("ul", {}, (decision.reasons || []).map((reason) => h("li", { text: reason }))),
      ),
    );
  }
  if (lead.history && lead.history.length) {
    parts.push(
      h("h3", { text: "Status history" }),
      table(
        ["When", "From", "To", "Reason", "By"],
        lead.history.map((entry) => [
          when(entry.at), show(entry.from_status), entry.to_status, entry.reason, entry.actor,
        ]),
      ),
    );
  }
  return section("Qualification", parts);
}

function becameSection(overview) {
  if (!overview || !overview.account_id) {
    return section("Account, contact and opportunity", notice("info", "Not converted."));
  }
  const opportunities = overview.opportunity_ids || [];
  return section(
    "Account, contact and opportunity",
    h(
      "div",
      { id: "became" },
      facts([
        ["Converted", when(overview.converted_at)],
        ["Account", link(overview.account_id, "accounts", overview.account_id)],
        ["Contact", link(overview.contact_id, "contacts", overview.contact_id)],
        [
          "Opportunities",
          opportunities.length
            ? h("span", {}, opportunities.map((id) => [link(id, "opportunities", id), " "]))
            : "none opened yet",
        ],
      ]),
    ),
  );
}

function nurtureSection(view) {
  if (!view) return section("Nurture", notice("info", "Nurture knows nothing of this lead."));
  const parts = [];
  const enrollments = view.enrollments || [];
  parts.push(
    enrollments.length
      ? table(
        ["Track", "Version", "Status", "Started", "Touches sent", "Engagement", "Ended", "Why"],
        enrollments.map((e) => [
          e.track, e.track_version, e.status, when(e.started_at), e.touches_sent, e.engagement_points,
          when(e.ended_at), show(e.end_reason),
        ]),
        { id: "enrollments" },
      )
      : notice("info", "Not enrolled on any track."),
  );
  const touches = [
    ...(view.touches_sent || []).map((t) => ["sent", t]),
    ...(view.touches_due || []).map((t) => ["due", t]),
    ...(view.touches_skipped || []).map((t) => ["skipped", t]),
    ...(view.touches_failed || []).map((t) => ["failed", t]),
  ];
  if (touches.length) {
    parts.push(
      h("h3", { text: "Nurture touches" }),
      table(
        ["", "Step", "Channel", "Content", "Due", "Done", "Problem"],
        touches.map(([kind, t]) => [
          kind, t.step, t.channel, t.content_ref, when(t.due_at), when(t.done_at), show(t.failure || t.last_error),
        ]),
      ),
    );
  }
  if (view.archive) {
    parts.push(
      h("h3", { text: "Archive" }),
      facts([
        ["Reason", view.archive.reason],
        ["Explanation", view.archive.explanation],
        ["Archived", when(view.archive.archived_at)],
        ["Reversed", when(view.archive.reversed_at)],
      ]),
    );
  }
  if (view.engagement) {
    parts.push(
      h("h3", { text: "Engagement" }),
      facts([
        ["Points on the active track", view.engagement.points],
        ["Points in all", view.engagement.total_points],
        ["Last engaged", when(view.engagement.last_engaged_at)],
      ]),
    );
  }
  return section("Nurture", parts);
}

function timelineSection(timelines) {
  const merged = mergeTimelines(timelines);
  const journeys = [...new Set(SERVICES.map((s) => timelines[s]?.correlation_id).filter(Boolean))];
  const silent = SERVICES.filter((s) => !timelines[s]);
  const parts = [
    h(
      "p",
      { class: "meta", id: "journey" },
      journeys.length === 1
        ? `One journey: correlation id ${journeys[0]}`
        : `Journeys: ${journeys.join(", ") || "none"}`,
      silent.length ? ` · no fact yet from ${silent.join(", ")}` : "",
    ),
  ];
  if (SERVICES.some((s) => timelines[s]?.truncated)) {
    parts.push(notice("info", `Only the first ${TIMELINE_MAX} facts of a service are shown.`));
  }
  parts.push(
    merged.length
      ? table(
        ["When", "Service", "What", "Summary", "Correlation id"],
        merged.map((item) => [
          when(item.at), item.service, item.kind, item.summary, item.correlation_id,
        ]),
        { id: "timeline", class: "list" },
      )
      : notice("info", "No fact recorded yet."),
  );
  return section("Timeline", parts);
}

export async function render(container, { parts }) {
  const leadId = parts[0];
  if (!leadId) {
    replace(container, notice("error", "No lead id in the address."));
    return;
  }
  const path = `/v1/leads/${encodeURIComponent(leadId)}`;
  const [intakeLead, qualificationLead, overview, nurtureView, ...lines] = await Promise.all([
    maybe("intake", path),
    maybe("qualification", path),
    maybe("opportunity", path),
    maybe("nurture", path),
    ...SERVICES.map((service) => timelineOf(service, leadId)),
  ]);
  const timelines = Object.fromEntries(SERVICES.map((service, i) => [service, lines[i]]));
  const profile = intakeLead?.profile || qualificationLead?.profile || {};
  const title = [profile.first_name, profile.last_name].filter(Boolean).join(" ") || leadId;
  replace(
    container,
    h("h1", {}, h("span", { id: "lead-name", text: title }), h("small", { class: "id", text: ` ${leadId}` })),
  );
  if (intakeLead?.merged_into) {
    container.append(
      notice("info", "This lead was merged into ", link(intakeLead.merged_into, "leads", intakeLead.merged_into), "."),
    );
  }
  container.append(
    h(
      "div",
      { class: "columns" },
      h("div", {}, profileSection(intakeLead), touchesSection(intakeLead)),
      h("div", {}, decisionSection(qualificationLead), becameSection(overview), nurtureSection(nurtureView)),
    ),
    timelineSection(timelines),
  );
}
