// The overview's two charts, drawn with uPlot from the figures the page carries as JSON in a data
// attribute (no inline script: the page's Content-Security-Policy runs only the gateway's own files).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("overview-data").dataset.chart);
  const width = (el) => Math.max(el.clientWidth - 8, 280);
  const compact = new Intl.NumberFormat(document.documentElement.lang || "en", {notation: "compact"});
  const quotaTicks = (u, splits) => splits.map((v) => compact.format(v));
  // Axis text and grid lines in the page's colours (console.css: light, or dark when the system is).
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const axis = (extra) => ({stroke: colour("--fg", "#1d2330"), grid: {stroke: colour("--grid", "rgba(0,0,0,.08)"), width: 1},
                            ticks: {stroke: colour("--grid", "rgba(0,0,0,.08)"), width: 1}, ...extra});

  function seriesChart(el) {
    const rows = data.series;
    // Buckets are the UTC start of an hour or a day ("2026-12-02T16:00:00.000000Z"); uPlot wants seconds.
    const x = rows.map((r) => Date.parse(r.bucket) / 1000);
    const opts = {
      width: width(el), height: 260, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: {x: {time: true}, q: {auto: true}},
      series: [
        {label: data.labels.time},
        {label: data.labels.success, stroke: "#2f9e5b", fill: "rgba(47,158,91,.12)", width: 2},
        {label: data.labels.failure, stroke: "#d9480f", width: 2},
        {label: data.labels.charged, stroke: "#3b5bdb", width: 2, dash: [6, 4], scale: "q"},
      ],
      axes: [axis({}), axis({label: data.labels.tasks}),
             axis({side: 1, scale: "q", size: 60, values: quotaTicks, label: data.labels.charged, grid: {show: false}})],
    };
    return new uPlot(opts, [x, rows.map((r) => r.success), rows.map((r) => r.failure), rows.map((r) => r.charged)], el);
  }

  function modelBars(el) {
    const models = data.models;
    const names = models.map((m) => m.name);
    const opts = {
      width: width(el), height: 260,
      scales: {x: {time: false, range: [-0.5, Math.max(models.length - 0.5, 0.5)]}},
      series: [
        {label: data.labels.model, value: (u, v) => names[v] ?? ""},
        {label: data.labels.charged, fill: "rgba(59,91,219,.65)", stroke: "#3b5bdb",
         paths: uPlot.paths.bars({size: [0.6, 80]}), points: {show: false}},
      ],
      axes: [axis({values: (u, splits) => splits.map((v) => names[v] ?? ""), splits: () => names.map((_, i) => i)}),
             axis({size: 60, values: quotaTicks})],
      legend: {show: false},
    };
    return new uPlot(opts, [names.map((_, i) => i), models.map((m) => m.charged)], el);
  }

  const charts = [seriesChart(document.getElementById("chart-series"))];
  const bars = document.getElementById("chart-models");
  if (data.models.length) charts.push(modelBars(bars));
  else bars.textContent = bars.dataset.empty || "–";
  document.body.dataset.chartsDrawn = String(charts.length);
  window.addEventListener("resize", () => charts.forEach((c) => c.setSize({width: width(c.root.parentNode), height: 260})));
})();
