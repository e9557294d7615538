// The source the page shows (`/sources/{id}/…`), for the pages' requests; links of the page to
// source 1 (the side bar's, the templates') are pointed at it too.
window.tickSource = (location.pathname.match(/^\/sources\/(\d+)\//) || [0, "1"])[1];
(function () {
  "use strict";
  if (window.tickSource === "1") return;
  document.querySelectorAll('a[href^="/sources/1/"]').forEach(function (a) {
    a.setAttribute("href", "/sources/" + window.tickSource + a.getAttribute("href").slice(10));
  });
})();

// Every state-changing request carries the CSRF token of its cookie (set by the server on
// every page, or at login); with a login (chronograf-rs.toml [[users]]) the side bar gets a
// logout button, which posts with the token too.
(function () {
  "use strict";
  var m = document.cookie.match(/(?:^|; )tick_csrf=([^;]+)/);
  if (!m) return;
  var token = m[1], plainFetch = window.fetch;
  window.fetch = function (url, opts) {
    opts = opts || {};
    var method = (opts.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") {
      opts.headers = Object.assign({}, opts.headers || {}, { "X-CSRF-Token": token });
    }
    return plainFetch.call(window, url, opts);
  };
  var nav = document.querySelector("nav.side");
  if (nav && /(?:^|; )tick_login=1/.test(document.cookie)) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "logout";
    button.textContent = "Log out";
    button.addEventListener("click", function () {
      window.fetch("/logout", { method: "POST" }).then(function () {
        location.href = "/login";
      });
    });
    nav.appendChild(button);
  }
})();

// Draws every `.chart` of the page with dygraphs from the compact columns of
// /chronograf/v1/sources/1/series (one request per cell query).
(function () {
  "use strict";

  function fetchSeries(db, rp, query) {
    return fetch("/chronograf/v1/sources/" + window.tickSource + "/series", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ db: db, rp: rp, query: query }),
    }).then(function (r) { return r.json(); });
  }

  // Text as HTML that shows exactly that text, for the few places dygraphs takes HTML.
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
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
        var series = [].concat.apply([], answers.map(function (a) { return a.series; }));
        var data = merge(series);
        if (!data.rows.length) { el.innerHTML = '<p class="empty">No data</p>'; return; }
        var kind = el.dataset.kind;
        if (kind === "single-stat" || kind === "gauge") { drawStat(el, data, kind); return; }
        if (kind === "table") { drawTable(el, data); return; }
        if (el.graph) el.graph.destroy();
        var y = yAxis(el);
        var drawStart = performance.now();
        el.graph = new Dygraph(el, data.rows, {
          labelsUTC: localStorage.getItem("tick.utc") === "1",
          labels: data.labels,
          stackedGraph: el.dataset.kind === "line-stacked",
          stepPlot: el.dataset.kind === "line-stepplot",
          connectSeparatedPoints: false,
          legend: "follow",
          axisLabelFontSize: 11,
          zoomCallback: zoomTo,
          dateWindow: customWindow(),
          underlayCallback: thresholdLine(el),
          valueRange: rangeWithThreshold(el, data.rows) || axisBounds(y),
          // dygraphs puts the axis title and tick labels in as HTML: what the cell's author
          // typed goes in as text.
          ylabel: y.label ? escapeHtml(y.label) : undefined,
          logscale: y.scale === "log",
          axes: y.prefix || y.suffix
            ? { y: { axisLabelFormatter: function (v) { return escapeHtml((y.prefix || "") + Number(v.toFixed(2)) + (y.suffix || "")); } } }
            : {},
        });
        // Drawing times, read by bench/dashboard.py.
        (window.tickDrawMs = window.tickDrawMs || []).push(performance.now() - drawStart);
        (window.tickDrawPoints = window.tickDrawPoints || []).push(data.rows.length);
      })
      .catch(function (e) { el.textContent = String(e); });
  }

  // Drag-to-zoom on a page with a range picker (host pages, dashboards) makes the selection the
  // page's range: every chart is queried again for it (`lower`/`upper` in ms).
  function zoomTo(min, max) {
    if (!document.querySelector(".ranges")) return;
    var p = new URLSearchParams(location.search);
    p.delete("range");
    p.set("lower", String(Math.round(min)));
    p.set("upper", String(Math.round(max)));
    location.search = p.toString();
  }

  // A chart with data-threshold (the rule builder's preview) draws that value as a red line.
  function thresholdLine(el) {
    if (el.dataset.threshold === undefined || el.dataset.threshold === "") return null;
    var value = Number(el.dataset.threshold);
    return function (ctx, area, g) {
      var y = g.toDomYCoord(value);
      if (!isFinite(y)) return;
      ctx.save();
      ctx.strokeStyle = "#e0424b";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(area.x, y);
      ctx.lineTo(area.x + area.w, y);
      ctx.stroke();
      ctx.restore();
    };
  }

  // The y range of a chart with a threshold: the data and the threshold, with a margin.
  function rangeWithThreshold(el, rows) {
    if (el.dataset.threshold === undefined || el.dataset.threshold === "") return null;
    var lo = Number(el.dataset.threshold), hi = lo;
    rows.forEach(function (r) {
      for (var i = 1; i < r.length; i++) if (r[i] !== null) { lo = Math.min(lo, r[i]); hi = Math.max(hi, r[i]); }
    });
    var pad = (hi - lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }

  // A dashboard cell's y axis settings (Chronograf's `axes.y`): label, bounds, prefix, suffix,
  // scale.
  function yAxis(el) {
    try { return JSON.parse(el.dataset.yAxis || "{}") || {}; } catch (e) { return {}; }
  }

  // `[min, max]` from the axis bounds; a bound left empty is taken from the data (null).
  function axisBounds(y) {
    var b = y.bounds || [];
    var num = function (s) { return s === "" || s === undefined || isNaN(Number(s)) ? null : Number(s); };
    var lo = num(b[0]), hi = num(b[1]);
    return lo === null && hi === null ? null : [lo, hi];
  }

  // The page's custom window as [lower, upper] ms, so the x axis shows exactly the selection.
  function customWindow() {
    var p = new URLSearchParams(location.search), lower = Number(p.get("lower")), upper = Number(p.get("upper"));
    return lower && upper && lower < upper ? [lower, upper] : null;
  }

  // The last value of the first column: a big number, or a 0-100 gauge arc.
  function drawStat(el, data, kind) {
    var last = null;
    for (var r = data.rows.length - 1; r >= 0 && last === null; r--) last = data.rows[r][1];
    var text = last === null ? "–" : (Math.round(last * 100) / 100).toString();
    if (kind === "single-stat") {
      el.innerHTML = '<div class="single-stat"></div>';
      el.firstChild.textContent = text;
      return;
    }
    var v = Math.max(0, Math.min(100, Number(last) || 0)), a = Math.PI * (1 - v / 100);
    var x = 100 + 80 * Math.cos(a), y = 100 - 80 * Math.sin(a);
    el.innerHTML = '<svg class="gauge" viewBox="0 0 200 120"><path d="M20 100 A80 80 0 0 1 180 100" class="track"/>' +
      '<path d="M20 100 A80 80 0 0 1 ' + x.toFixed(1) + ' ' + y.toFixed(1) + '" class="value"/><text x="100" y="95"></text></svg>';
    el.querySelector("text").textContent = text;
  }

  function drawTable(el, data) {
    var t = document.createElement("table");
    t.className = "cell-table";
    var head = document.createElement("tr");
    data.labels.forEach(function (l) { var th = document.createElement("th"); th.textContent = l; head.appendChild(th); });
    t.appendChild(head);
    data.rows.slice(-100).reverse().forEach(function (row) {
      var tr = document.createElement("tr");
      row.forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = i === 0 ? v.toISOString() : (v === null ? "" : String(v));
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    el.innerHTML = "";
    el.appendChild(t);
  }

  window.tickDraw = draw;
  function drawAll() { document.querySelectorAll(".chart[data-queries]").forEach(draw); }
  drawAll();

  // Auto-refresh (off, 5s … 5m) and local/UTC times, remembered in the browser.
  var refresh = document.getElementById("auto-refresh"), utc = document.getElementById("utc");
  var timer = null;
  function schedule() {
    if (timer) clearInterval(timer);
    var ms = Number(refresh.value);
    timer = ms > 0 ? setInterval(drawAll, ms) : null;
  }
  if (refresh) {
    refresh.value = localStorage.getItem("tick.refresh") || "0";
    refresh.addEventListener("change", function () { localStorage.setItem("tick.refresh", refresh.value); schedule(); });
    schedule();
  }
  if (utc) {
    utc.checked = localStorage.getItem("tick.utc") === "1";
    utc.addEventListener("change", function () { localStorage.setItem("tick.utc", utc.checked ? "1" : "0"); drawAll(); });
  }

  // The group-by interval (`:interval:`): the range's own (auto) or one picked, in the URL.
  var groupBy = document.getElementById("group-by");
  if (groupBy) {
    groupBy.value = new URLSearchParams(location.search).get("interval") || "";
    groupBy.addEventListener("change", function () {
      var p = new URLSearchParams(location.search);
      if (groupBy.value) p.set("interval", groupBy.value); else p.delete("interval");
      location.search = p.toString();
    });
  }

  // The date picker: two instants, read in UTC or local time as the page shows times, become
  // the page's custom range (as a zoom does). It opens on the current window.
  var from = document.getElementById("range-from"), to = document.getElementById("range-to");
  if (from && to) {
    var inUtc = function () { return localStorage.getItem("tick.utc") === "1"; };
    var show = function (ms) {
      var d = new Date(inUtc() ? ms : ms - new Date(ms).getTimezoneOffset() * 60000);
      return d.toISOString().slice(0, 19);
    };
    var read = function (text) {
      if (!text) return NaN;
      return inUtc() ? Date.parse(text + "Z") : new Date(text).getTime();
    };
    var current = customWindow() || [Date.now() - 3600000, Date.now()];
    from.value = show(current[0]);
    to.value = show(current[1]);
    document.getElementById("range-apply").addEventListener("click", function () {
      var lower = read(from.value), upper = read(to.value);
      if (!(lower < upper)) {
        document.getElementById("range-error").textContent = "the start must come before the end";
        return;
      }
      zoomTo(lower, upper);
    });
  }
})();
