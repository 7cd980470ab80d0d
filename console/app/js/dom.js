// Building the DOM without markup: every text goes in through a text node, so lead data (hostile input) is
// never parsed as HTML. Links are built from route parts only.

/** An element with attributes (class, text, on* listeners, anything else as an attribute) and children. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children: nodes as they are, anything else as text; arrays are flattened, null skipped. */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace every child of a node. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A link to a console route built from path parts, each part URI-encoded. */
export function link(text, ...parts) {
  return h("a", { href: route(...parts), text });
}

/** A console route (`#/leads/<id>`) from path parts, each URI-encoded. */
export function route(...parts) {
  return "#/" + parts.map((part) => encodeURIComponent(String(part))).join("/");
}

/** A table from column headings and rows of cells (nodes or text). */
export function table(headings, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col", text: heading })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
  );
}

/** A definition list of label → value pairs; empty values show as a dash. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([label, value]) => [h("dt", { text: label }), h("dd", {}, show(value))]),
  );
}

/** A value as text: dash for nothing, yes/no for booleans, compact JSON for objects. */
export function show(value) {
  if (value instanceof Node) return value;
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A time as `YYYY-MM-DD HH:MM:SS` UTC (the same on every machine), or a dash. */
export function when(value) {
  if (!value) return "–";
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return String(value);
  return moment.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A number with grouping, or a dash. */
export function number(value, digits = 0) {
  if (value === null || value === undefined || value === "") return "–";
  const parsed = Number(value);
  if (Number.isNaN(parsed)) return String(value);
  return parsed.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A rate 0..1 as a percentage, or a dash. */
export function percent(value) {
  if (value === null || value === undefined) return "–";
  return `${(Number(value) * 100).toFixed(1)}%`;
}

/** A notice box: kind is info, error or ok. */
export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, children);
}

/** A section with a heading. */
export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", { text: title }), children);
}
