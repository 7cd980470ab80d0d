// Keyset paging: the service hands out the next page's cursor; the cursors of pages already seen are kept in
// memory so "Previous" works without ever counting or loading every row.

import { navigate } from "./app.js";
import { h } from "./dom.js";

const seen = new Map();

/** Buttons for the first, previous and next page of a list whose filters are `key`. */
export function pager(key, cursor, nextCursor, go) {
  const trail = seen.get(key) || [];
  const position = cursor ? trail.indexOf(cursor) : -1;
  const previous = position > 0 ? trail[position - 1] : null;
  const first = h("button", { type: "button", text: "First page", disabled: !cursor, onclick: () => go(null) });
  const back = h("button", {
    type: "button",
    text: "Previous",
    disabled: !cursor,
    onclick: () => go(previous),
  });
  const forward = h("button", {
    type: "button",
    text: "Next page",
    class: "next-page",
    disabled: !nextCursor,
    onclick: () => {
      const kept = cursor ? trail.slice(0, Math.max(position, 0) + 1) : [];
      if (cursor && position < 0) kept.splice(0, kept.length, cursor);
      seen.set(key, [...kept, nextCursor]);
      go(nextCursor);
    },
  });
  return h("div", { class: "pager" }, first, back, forward);
}

/** The pager of a list page: each button goes to the same page and filters with another cursor. */
export function listPager(page, filters, cursor, nextCursor) {
  return pager(`${page}:${JSON.stringify(filters)}`, cursor, nextCursor, (next) => navigate(page, { ...filters, cursor: next }));
}
