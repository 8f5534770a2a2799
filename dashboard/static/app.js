// hypewatch dashboard behaviour. Loaded as a file (the content policy forbids inline script);
// charts read their data from the JSON API named in each chart's data-src attribute.
(function () {
  "use strict";

  var FONT = { family: "Inter, Segoe UI, system-ui, sans-serif", size: 12, color: "#4a5568" };
  var GRID = "#edf0f5";

  function baseLayout(extra) {
    var layout = {
      margin: { l: 48, r: 52, t: 10, b: 40 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: FONT, hovermode: "x unified",
      legend: { orientation: "h", x: 0, y: -0.16, font: { size: 11 } },
      xaxis: { type: "date", gridcolor: GRID, linecolor: "#cbd3df", tickformat: "%b %Y" },
      yaxis: { gridcolor: GRID, zeroline: false, rangemode: "tozero" }
    };
    for (var key in extra) { layout[key] = extra[key]; }
    return layout;
  }

  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function volumeChart(node, data) {
    var traces = [
      { type: "bar", name: "Relevant articles", x: data.weeks, y: data.articles, marker: { color: "#9fb3d1" },
        hovertemplate: "%{y} articles<extra></extra>" },
      { type: "scatter", mode: "lines+markers", name: "Mean hype score", x: data.weeks, y: data.mean_hype, yaxis: "y2",
        line: { color: "#c53030", width: 2.5 }, marker: { size: 5 }, connectgaps: true,
        hovertemplate: "mean hype %{y:.1f}<extra></extra>" }
    ];
    var most = Math.max.apply(null, data.articles.concat([1]));
    var layout = baseLayout({
      yaxis: { title: { text: "articles per week", font: { size: 11 } }, gridcolor: GRID, zeroline: false, rangemode: "tozero",
               dtick: most <= 8 ? 1 : null, tickformat: ",d" },
      yaxis2: { title: { text: "mean hype (0–100)", font: { size: 11 } }, overlaying: "y", side: "right", range: [0, 100],
                dtick: 25, showgrid: false },
      bargap: 0.25
    });
    return Plotly.newPlot(node, traces, layout, CONFIG);
  }

  function signalsChart(node, data) {
    var traces = data.signals.map(function (signal) {
      return {
        type: "scatter", mode: "lines", name: signal.label, x: data.weeks,
        y: data.signal_share_rolling[signal.name].map(function (v) { return v === null ? null : v * 100; }),
        line: { color: signal.colour, width: 2.2 }, connectgaps: true,
        hovertemplate: signal.label + ": %{y:.0f}%<extra></extra>"
      };
    });
    var layout = baseLayout({
      yaxis: { title: { text: "% flagged, trailing " + data.rolling_weeks + " weeks", font: { size: 11 } }, gridcolor: GRID, zeroline: false,
               range: [0, 100], ticksuffix: "%" },
      margin: { l: 52, r: 16, t: 10, b: 40 }
    });
    return Plotly.newPlot(node, traces, layout, CONFIG);
  }

  var RENDERERS = { volume: volumeChart, signals: signalsChart };
  var requests = {};

  function fetchJSON(url) {
    if (!requests[url]) {
      requests[url] = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        });
    }
    return requests[url];
  }

  function showMessage(node, text) {
    node.textContent = "";
    var p = document.createElement("p");
    p.className = "chart-loading";
    p.textContent = text;
    node.appendChild(p);
  }

  function drawCharts() {
    var nodes = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (node) {
      var render = RENDERERS[node.getAttribute("data-chart")];
      if (!render) { return; }
      if (!window.Plotly) { showMessage(node, "Charts could not be loaded."); return; }
      fetchJSON(node.getAttribute("data-src")).then(function (data) {
        if (!data.weeks || data.weeks.length === 0) { showMessage(node, "No relevant articles in this range yet."); return; }
        node.textContent = "";
        return render(node, data).then(function () { node.setAttribute("data-rendered", "true"); });
      }).catch(function (error) {
        showMessage(node, "The chart's data could not be loaded (" + error.message + ").");
      });
    });
  }

  function wireLegend() {
    var text = document.getElementById("doc-text");
    if (!text) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-toggle-signal]"), function (button) {
      button.addEventListener("click", function () {
        var name = button.getAttribute("data-toggle-signal");
        var on = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", on ? "true" : "false");
        Array.prototype.forEach.call(text.querySelectorAll("mark.ev-" + name), function (mark) {
          mark.classList.toggle("hidden-" + name, !on);
          var hidden = Array.prototype.some.call(mark.classList, function (c) { return c.indexOf("hidden-") === 0; });
          mark.classList.toggle("muted-mark", hidden);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    wireLegend();
  });
})();
