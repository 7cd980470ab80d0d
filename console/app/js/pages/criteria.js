// The criteria editor: change the qualification criteria as JSON, preview what the change would do to the
// stored leads (qualification's simulation, which changes nothing), and only then store the new version.

import { ApiError, call } from "../api.js";
import { facts, h, link, notice, replace, table } from "../dom.js";

function problems(error) {
  const detail = error.detail?.detail ?? error.detail;
  if (detail && Array.isArray(detail.problems)) {
    return h("div", {}, detail.message || "invalid criteria", h("ul", {}, detail.problems.map((p) => h("li", { text: p }))));
  }
  return error.message;
}

function simulationView(result) {
  return h(
    "div",
    { id: "simulation" },
    facts([
      ["Leads judged", result.evaluated],
      ["Outside the scope", result.out_of_scope],
      ["Unchanged", result.unchanged],
      ["Would change status", h("strong", { id: "simulation-changed", text: String(result.changed) })],
      ["Stopped early (max leads)", result.truncated],
    ]),
    result.changes.length
      ? table(
        ["From", "To", "Leads", "For example"],
        result.changes.map((change) => [
          change.from_status,
          change.to_status,
          change.count,
          h("span", {}, change.samples.map((id) => [link(id.slice(0, 8), "leads", id), " "])),
        ]),
        { id: "simulation-changes" },
      )
      : notice("info", "No lead would change status."),
  );
}

/** Number inputs for the fit weights and the conditions' thresholds; each change rewrites the JSON text. */
function quickEdits(criteria, editor) {
  const numbers = [];
  for (const [rule, settings] of Object.entries(criteria.fit || {})) {
    if (settings && typeof settings.weight === "number") numbers.push([`fit: ${rule} weight`, ["fit", rule, "weight"], settings.weight]);
  }
  (criteria.decision?.conditions || []).forEach((condition, index) => {
    if (typeof condition.threshold === "number") {
      numbers.push([`${condition.name} (threshold)`, ["decision", "conditions", index, "threshold"], condition.threshold]);
    }
  });
  const rows = numbers.map(([label, path, value]) => {
    const input = h("input", { type: "number", value: String(value), step: "any", "data-path": path.join(".") });
    input.addEventListener("change", () => {
      let current;
      try {
        current = JSON.parse(editor.value);
      } catch {
        return;
      }
      let holder = current;
      for (const key of path.slice(0, -1)) holder = holder?.[key];
      if (!holder || input.value === "") return;
      holder[path[path.length - 1]] = Number(input.value);
      editor.value = JSON.stringify(current, null, 2);
      editor.dispatchEvent(new Event("input"));
    });
    return [label, input];
  });
  return h("section", { class: "card" }, h("h2", { text: "Quick edits" }), table(["Setting", "Value"], rows, { id: "quick-edits" }));
}

export async function render(container) {
  const current = await call("qualification", "/v1/criteria");
  const editor = h("textarea", {
    id: "criteria-json",
    spellcheck: "false",
    rows: 28,
    cols: 90,
    value: JSON.stringify(current, null, 2),
  });
  const scope = h(
    "select",
    { name: "scope", id: "simulation-scope" },
    h("option", { value: "open_only", text: "open leads" }),
    h("option", { value: "non_terminal", text: "every lead not yet converted or archived" }),
  );
  const applyTo = h(
    "select",
    { name: "apply_to", id: "apply-to" },
    h("option", { value: "", text: "new leads only" }),
    h("option", { value: "open_only", text: "new leads and the open ones now" }),
    h("option", { value: "non_terminal", text: "new leads and every non-terminal one now" }),
  );
  const preview = h("div", { id: "preview" });
  const saved = h("div", { id: "saved" });
  let simulatedText = null;
  const save = h("button", { type: "button", id: "save-criteria", text: "Save as a new version", disabled: true });
  const simulate = h("button", { type: "button", id: "simulate", text: "Simulate" });

  const parsed = () => {
    try {
      return JSON.parse(editor.value);
    } catch (error) {
      replace(preview, notice("error", `Not valid JSON: ${error.message}`));
      return null;
    }
  };
  editor.addEventListener("input", () => {
    save.disabled = editor.value !== simulatedText;
  });
  simulate.addEventListener("click", async () => {
    const criteria = parsed();
    if (!criteria) return;
    simulate.disabled = true;
    replace(preview, h("p", { class: "meta", text: "Simulating…" }));
    try {
      const result = await call("qualification", "/v1/criteria/simulate", {
        method: "POST",
        body: { criteria, scope: scope.value },
      });
      replace(preview, simulationView(result));
      simulatedText = editor.value;
      save.disabled = false;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      replace(preview, notice("error", problems(error)));
    } finally {
      simulate.disabled = false;
    }
  });
  save.addEventListener("click", async () => {
    const criteria = parsed();
    if (!criteria || editor.value !== simulatedText) return;
    save.disabled = true;
    try {
      const params = applyTo.value ? { apply_to: applyTo.value } : {};
      const stored = await call("qualification", "/v1/criteria", { method: "PUT", params, body: criteria });
      const applied = stored.applied
        ? ` Applied now: ${stored.applied.evaluated} leads judged, ${stored.applied.changed} changed status.`
        : "";
      replace(saved, notice("ok", `Stored as version ${stored.criteria.version}.${applied}`));
      editor.value = JSON.stringify(stored.criteria, null, 2);
      replace(version, String(stored.criteria.version));
      simulatedText = null;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      replace(saved, notice("error", problems(error)));
      save.disabled = false;
    }
  });
  const version = h("span", { id: "criteria-current-version", text: String(current.version) });
  replace(
    container,
    h("h1", { text: "Qualification criteria" }),
    h("p", { class: "meta" }, "Version in force: ", version, ". Edit, simulate, then save: saving stores the next "
      + "version (the version in the text is ignored)."),
    h(
      "div",
      { class: "columns" },
      h("div", {}, editor),
      h(
        "div",
        {},
        quickEdits(current, editor),
        h("section", { class: "card" }, h("h2", { text: "Preview" }), h("label", {}, "Try on ", scope), " ", simulate, preview),
        h("section", { class: "card" }, h("h2", { text: "Save" }), h("label", {}, "Apply to ", applyTo), " ", save, saved),
      ),
    ),
  );
}
