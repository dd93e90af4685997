// Charts on the sessions pages. Data comes from json_script tags named by data-chart-source
// (the CSP forbids inline script); charts are (re)drawn on load and after every htmx swap.
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#6610f2", "#198754", "#fd7e14", "#20c997", "#d63384",
                 "#6c757d", "#0dcaf0", "#ffc107", "#dc3545"];

  function readData(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    if (!source) { return null; }
    try { return JSON.parse(source.textContent); } catch (e) { return null; }
  }

  function draw(canvas) {
    if (canvas.dataset.chartDrawn || typeof window.Chart === "undefined") { return; }
    var data = readData(canvas);
    if (!data) { return; }
    canvas.dataset.chartDrawn = "1";
    var horizontal = canvas.dataset.chart === "hbar";
    var colors = data.labels.map(function (label, i) {
      if (label === "expired") { return "#dc3545"; }
      if (label === "unknown") { return "#adb5bd"; }
      return horizontal ? PALETTE[i % PALETTE.length] : (i === 0 || (i === 1 && data.labels[0] === "expired") ? "#fd7e14" : "#0d6efd");
    });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ data: data.values, backgroundColor: colors, borderRadius: 3 }]
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false }, tooltip: { enabled: true } },
        scales: {
          x: { ticks: { font: { size: 9 }, precision: 0, autoSkip: false, maxRotation: 0 }, grid: { display: horizontal } },
          y: {
            // The small expiry chart has no room for a value axis; the tooltip gives counts.
            display: horizontal || canvas.dataset.chartAxis !== "none",
            ticks: { font: { size: 10 }, precision: 0 }, grid: { display: !horizontal }, beginAtZero: true
          }
        }
      }
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart-source]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
