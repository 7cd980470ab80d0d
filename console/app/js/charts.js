// Charts with Chart.js (loaded by index.html from the console's own server, never a CDN).

const live = new Set();
const PALETTE = ["#2f6fb0", "#e08a2c", "#3c9a5f", "#b8453b", "#7c5cb5", "#8c6d4f", "#d16ba5", "#6d7a86"];

/** A colour of the console's palette by position. */
export function colour(index) {
  return PALETTE[index % PALETTE.length];
}

/** A bar chart on a new canvas: labels along the axis, one dataset per series, optionally stacked. */
export function bar(labels, series, { stacked = false, label = "chart", horizontal = false } = {}) {
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const holder = document.createElement("div");
  holder.className = "chart";
  holder.append(canvas);
  const Chart = globalThis.Chart;
  if (!Chart) return holder;
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: series.map((item, index) => ({
        label: item.label,
        data: item.data,
        backgroundColor: item.colour || colour(index),
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      indexAxis: horizontal ? "y" : "x",
      scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  live.add(chart);
  return holder;
}

/** Destroy every chart (on leaving a page). */
export function destroyAll() {
  for (const chart of live) chart.destroy();
  live.clear();
}
