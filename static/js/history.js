// The history charts (history/realm_history.html): numbers from the json_script tag
// "history-data" (the CSP forbids inline script). The x axis is linear, in epoch seconds
// (no date adapter needed); ledger markers are drawn on every chart as dashed vertical lines
// and as points along the bottom whose tooltip names the change.
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#fd7e14", "#198754", "#6610f2", "#20c997", "#d63384",
                 "#6c757d", "#0dcaf0"];
  var MARKER_COLORS = { revocation: "#dc3545", lifespans: "#6f42c1" };
  var MARKER_STYLES = { revocation: "triangle", lifespans: "rectRot" };
  var MARKER_NAMES = { revocation: "Revocations", lifespans: "Lifespan changes" };

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function when(seconds, span) {
    var d = new Date(seconds * 1000);
    var day = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    var time = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (span === "tick-short") { return time; }
    if (span === "tick-long") { return day; }
    return day + " " + time + " UTC";
  }

  var markerLines = {
    id: "historyMarkerLines",
    afterDatasetsDraw: function (chart) {
      var markers = chart.options.plugins.historyMarkerLines.markers || [];
      var x = chart.scales.x;
      var area = chart.chartArea;
      var ctx = chart.ctx;
      ctx.save();
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      markers.forEach(function (m) {
        if (m.x < x.min || m.x > x.max) { return; }
        var px = x.getPixelForValue(m.x);
        ctx.strokeStyle = MARKER_COLORS[m.kind];
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
      });
      ctx.restore();
    }
  };

  function draw(canvas, data) {
    var series = data[canvas.dataset.historyChart];
    if (!series) { return; }
    var width = data.end - data.start;
    var longSpan = width > 3 * 86400;
    // Ticks at whole UTC hours/days (multiples of the step from the epoch).
    var step = width <= 86400 ? 6 * 3600 : width <= 7 * 86400 ? 86400 : width <= 90 * 86400 ? 14 * 86400 : 91 * 86400;
    var datasets = Object.keys(series).map(function (name, i) {
      var points = series[name].map(function (y, j) { return { x: data.x[j], y: y }; });
      return {
        type: "line", label: name, data: points, borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length], pointRadius: points.length > 60 ? 0 : 2,
        borderWidth: 1.5, tension: 0
      };
    });
    ["revocation", "lifespans"].forEach(function (kind) {
      var points = data.markers.filter(function (m) { return m.kind === kind; });
      if (!points.length) { return; }
      datasets.push({
        type: "scatter", label: MARKER_NAMES[kind],
        data: points.map(function (m) { return { x: m.x, y: 0, label: m.label }; }),
        pointStyle: MARKER_STYLES[kind], pointRadius: 7, pointHoverRadius: 9,
        backgroundColor: MARKER_COLORS[kind], borderColor: MARKER_COLORS[kind]
      });
    });
    new window.Chart(canvas, {
      data: { datasets: datasets },
      plugins: [markerLines],
      options: {
        maintainAspectRatio: false,
        animation: false,
        parsing: true,
        interaction: { mode: "nearest", intersect: false },
        plugins: {
          historyMarkerLines: { markers: data.markers },
          legend: { labels: { boxWidth: 10, font: { size: 11 } } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? when(items[0].parsed.x) : ""; },
              label: function (item) {
                if (item.dataset.type === "scatter") { return item.raw.label; }
                return item.dataset.label + ": " + item.parsed.y.toLocaleString();
              }
            }
          }
        },
        scales: {
          x: {
            type: "linear", min: data.start, max: data.end,
            ticks: {
              stepSize: step, font: { size: 10 },
              callback: function (v) { return when(v, longSpan ? "tick-long" : "tick-short"); }
            }
          },
          y: { beginAtZero: true, ticks: { precision: 0, font: { size: 10 } } }
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("history-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var data;
    try { data = JSON.parse(source.textContent); } catch (e) { return; }
    document.querySelectorAll("canvas[data-history-chart]").forEach(function (canvas) {
      draw(canvas, data);
      canvas.dataset.chartDrawn = "1";
    });
  });
})();
