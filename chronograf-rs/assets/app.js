// Draws every `.chart` of the page with dygraphs from the compact columns of
// /chronograf/v1/sources/1/series (one request per cell query).
(function () {
  "use strict";

  function fetchSeries(db, rp, query) {
    return fetch("/chronograf/v1/sources/1/series", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ db: db, rp: rp, query: query }),
    }).then(function (r) { return r.json(); });
  }

  // Merges series (each: times + one column per field) into dygraph rows keyed by time.
  function merge(all) {
    var labels = ["time"], byTime = new Map(), width = 0;
    all.forEach(function (s) {
      s.columns.forEach(function (c, i) {
        var label = c + (s.tags ? " " + Object.values(s.tags).join(",") : "");
        labels.push(label);
        s.times.forEach(function (t, n) {
          if (!byTime.has(t)) byTime.set(t, []);
          byTime.get(t)[width + i] = s.values[i][n];
        });
      });
      width += s.columns.length;
    });
    var rows = Array.from(byTime.keys()).sort(function (a, b) { return a - b; }).map(function (t) {
      var cells = byTime.get(t), row = [new Date(t)];
      for (var i = 0; i < width; i++) row.push(cells[i] === undefined ? null : cells[i]);
      return row;
    });
    return { labels: labels, rows: rows };
  }

  function draw(el) {
    var queries = JSON.parse(el.dataset.queries || "[]");
    Promise.all(queries.map(function (q) { return fetchSeries(el.dataset.db, el.dataset.rp, q); }))
      .then(function (answers) {
        var errors = answers.filter(function (a) { return a.error; }).map(function (a) { return a.error; });
        if (errors.length) { el.innerHTML = '<p class="error"></p>'; el.firstChild.textContent = errors.join("; "); return; }
        var data = merge([].concat.apply([], answers.map(function (a) { return a.series; })));
        if (!data.rows.length) { el.innerHTML = '<p class="empty">No data</p>'; return; }
        el.graph = new Dygraph(el, data.rows, {
          labels: data.labels,
          stackedGraph: el.dataset.kind === "line-stacked",
          connectSeparatedPoints: false,
          legend: "follow",
          axisLabelFontSize: 11,
        });
      })
      .catch(function (e) { el.textContent = String(e); });
  }

  window.tickDraw = draw;
  document.querySelectorAll(".chart[data-queries]").forEach(draw);
})();
