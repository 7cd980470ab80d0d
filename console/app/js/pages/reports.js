// Funnel by source (qualification), pipeline by stage and weighted forecast (opportunity), as charts with
// the numbers beneath.

import { call } from "../api.js";
import { navigate } from "../app.js";
import { bar } from "../charts.js";
import { h, notice, number, percent, replace, section, table } from "../dom.js";

const CATEGORIES = ["open", "contacted", "qualified", "converted", "nurturing", "unqualified", "archived"];
const FORECAST_CATEGORIES = ["pipeline", "best_case", "commit", "closed", "omitted"];

function day(value) {
  return value.toISOString().slice(0, 10);
}

function funnelSection(funnel) {
  const groups = Object.entries(funnel.groups || {}).sort((a, b) => b[1].leads - a[1].leads);
  if (!groups.length) return section("Funnel by source", notice("info", "No lead created in this period."));
  const labels = groups.map(([source]) => source);
  const series = CATEGORIES.map((category) => ({
    label: category,
    data: groups.map(([, report]) => report.by_category?.[category] || 0),
  }));
  const conversions = [...new Set(groups.flatMap(([, report]) => Object.keys(report.conversion || {})))];
  return section(
    "Funnel by source",
    bar(labels, series, { stacked: true, label: "leads per source by status category" }),
    table(
      ["Source", "Leads", ...CATEGORIES, ...conversions, "Stale"],
      groups.map(([source, report]) => [
        source,
        number(report.leads),
        ...CATEGORIES.map((category) => number(report.by_category?.[category] || 0)),
        ...conversions.map((key) => percent(report.conversion?.[key])),
        number(report.stale),
      ]),
      { id: "funnel", class: "list" },
    ),
  );
}

function pipelineSection(pipeline) {
  const stages = pipeline.stages || [];
  return section(
    "Pipeline by stage",
    h("p", { class: "meta", text: `Open opportunities under stage set version ${pipeline.stage_set_version}.` }),
    bar(
      stages.map((s) => s.stage),
      [
        { label: "amount", data: stages.map((s) => Number(s.amount)) },
        { label: "weighted amount", data: stages.map((s) => Number(s.weighted_amount)) },
      ],
      { label: "pipeline amount and weighted amount per stage" },
    ),
    table(
      ["Stage", "Opportunities", "Amount", "Weighted amount"],
      stages.map((s) => [s.stage, number(s.count), number(s.amount, 2), number(s.weighted_amount, 2)]),
      { id: "pipeline", class: "list" },
    ),
  );
}

function forecastSection(forecast, period) {
  const periods = [...new Set(forecast.cells.map((c) => c.period))].sort();
  const cell = (p, category) => forecast.cells.find((c) => c.period === p && c.category === category);
  const picker = h(
    "select",
    { name: "period", onchange: (event) => navigate("reports", { period: event.target.value }) },
    ["month", "quarter"].map((p) => h("option", { value: p, text: `by ${p}`, selected: p === period })),
  );
  if (!periods.length) {
    return section("Weighted forecast", picker, notice("info", "No opportunity to forecast."));
  }
  return section(
    "Weighted forecast",
    h("p", { class: "meta" }, "Weighted amount of the opportunities closing in each period, ", picker),
    bar(
      periods,
      FORECAST_CATEGORIES.map((category) => ({
        label: category,
        data: periods.map((p) => Number(cell(p, category)?.weighted_amount || 0)),
      })),
      { stacked: true, label: "weighted forecast per period and category" },
    ),
    table(
      ["Period", ...FORECAST_CATEGORIES.map((c) => `${c} (weighted)`), "Opportunities"],
      periods.map((p) => [
        p,
        ...FORECAST_CATEGORIES.map((category) => number(cell(p, category)?.weighted_amount || 0, 2)),
        number(forecast.cells.filter((c) => c.period === p).reduce((sum, c) => sum + c.count, 0)),
      ]),
      { id: "forecast", class: "list" },
    ),
  );
}

export async function render(container, { params }) {
  const period = params.get("period") === "quarter" ? "quarter" : "month";
  const to = new Date();
  const from = new Date(to.getTime() - 30 * 24 * 3600 * 1000);
  const [funnel, pipeline, forecast] = await Promise.all([
    call("qualification", "/v1/kpis/funnel", { params: { by: "source", from: from.toISOString(), to: to.toISOString() } }),
    call("opportunity", "/v1/pipeline"),
    call("opportunity", "/v1/forecast", { params: { period } }),
  ]);
  replace(
    container,
    h("h1", { text: "Funnel, pipeline and forecast" }),
    h("p", { class: "meta", text: `Funnel of the leads created from ${day(from)} to ${day(to)}.` }),
    funnelSection(funnel),
    h("div", { class: "columns" }, pipelineSection(pipeline), forecastSection(forecast, period)),
  );
}
