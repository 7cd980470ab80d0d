// The duplicate review queue: pairs intake could not decide alone, for a person to merge or dismiss.

import { ApiError, call } from "../api.js";
import { navigate } from "../app.js";
import { h, link, notice, replace, table, when } from "../dom.js";
import { pager } from "../paging.js";

const PAGE_SIZE = 50;

function person(profile, id) {
  const p = profile || {};
  const name = [p.first_name, p.last_name].filter(Boolean).join(" ") || "(no name)";
  return h(
    "div",
    { class: "person" },
    link(name, "leads", id),
    h("div", { class: "meta", text: [p.email, p.phone].filter(Boolean).join(" · ") || "no email or phone" }),
    h("div", { class: "meta", text: [p.company, p.job_title, p.country].filter(Boolean).join(" · ") || "–" }),
  );
}

function actions(pair, outcome) {
  if (pair.status !== "open") return h("span", { class: "decided", text: pair.status });
  const decide = async (action, survivor) => {
    for (const button of cell.querySelectorAll("button")) button.disabled = true;
    try {
      const path = `/v1/duplicates/${encodeURIComponent(pair.id)}/${action}`;
      const done = await call("intake", path, {
        method: "POST",
        body: action === "merge" ? { survivor } : undefined,
      });
      const kept = done.survivor ? ["kept ", link(done.survivor, "leads", done.survivor)] : [];
      replace(outcome, notice("ok", `${done.status}: `, kept));
      replace(cell, h("span", { class: "decided", text: done.status }));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      replace(outcome, notice("error", error.message));
      for (const button of cell.querySelectorAll("button")) button.disabled = false;
    }
  };
  const cell = h(
    "div",
    { class: "actions" },
    h("button", {
      type: "button",
      class: "merge-keep-lead",
      text: "Merge, keep left",
      onclick: () => decide("merge", pair.lead_id),
    }),
    h("button", {
      type: "button",
      class: "merge-keep-candidate",
      text: "Merge, keep right",
      onclick: () => decide("merge", pair.candidate_id),
    }),
    h("button", { type: "button", class: "dismiss", text: "Dismiss", onclick: () => decide("dismiss") }),
  );
  return cell;
}

export async function render(container, { params }) {
  const status = params.get("status") || "open";
  const cursor = params.get("cursor") || null;
  const picker = h(
    "select",
    { name: "status", onchange: (event) => navigate("duplicates", { status: event.target.value }) },
    ["open", "merged", "dismissed"].map((s) => h("option", { value: s, text: s, selected: s === status })),
  );
  replace(
    container,
    h("h1", { text: "Duplicate review" }),
    h("p", { class: "meta" }, "Pairs scored between the review and merge thresholds. Show ", picker),
  );
  const page = await call("intake", "/v1/duplicates", { params: { status, cursor, limit: PAGE_SIZE } });
  if (!page.items.length) {
    container.append(notice("info", `No ${status} pair.`));
    return;
  }
  const rows = page.items.map((pair) => {
    const outcome = h("div", { class: "outcome" });
    return [
      person(pair.lead_profile, pair.lead_id),
      person(pair.candidate_profile, pair.candidate_id),
      `${(pair.score * 100).toFixed(0)}%`,
      pair.reason,
      when(pair.created_at),
      h("div", {}, actions(pair, outcome), outcome),
    ];
  });
  const tableNode = table(["Lead", "Possible duplicate", "Score", "Why", "Found", ""], rows, {
    class: "list",
    id: "duplicates",
  });
  page.items.forEach((pair, index) => {
    tableNode.tBodies[0].rows[index].dataset.pair = pair.id;
  });
  container.append(
    tableNode,
    pager(`duplicates:${status}`, cursor, page.next_cursor, (next) => navigate("duplicates", { status, cursor: next })),
  );
}
