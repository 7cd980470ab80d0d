// The filter bar above every list: fields that become the route's query parameters when applied.

import { navigate } from "./app.js";
import { h } from "./dom.js";

/** An input field: its label, parameter name, current value and extra attributes. */
export function field(label, name, value, attrs = {}) {
  return h("label", {}, `${label} `, h("input", { name, value, ...attrs }));
}

/** A search field (up to 200 characters, as the services take). */
export function search(value) {
  return field("Search", "q", value, { type: "search", maxlength: 200 });
}

/** A select of [value, label] choices with the current one selected. */
export function choice(label, name, choices, current, attrs = {}) {
  return h(
    "label",
    {},
    `${label} `,
    h(
      "select",
      { name, ...attrs },
      choices.map(([value, text]) => h("option", { value, text, selected: value === current })),
    ),
  );
}

/** A filter form that, applied, goes to `page` with the fields' values (disabled ones left out). */
export function filterForm(page, fields, attrs = {}) {
  const form = h("form", { class: "filters", role: "search", ...attrs }, fields, h("button", { type: "submit", text: "Apply" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = [...new FormData(form).entries()].map(([key, value]) => [key, String(value).trim()]);
    navigate(page, Object.fromEntries(values));
  });
  return form;
}
