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

// The side bar marks the page it is on; `tickConfirm` asks in a modal before something is
// deleted, `tickToast` says that something was saved or failed.
(function () {
  "use strict";
  var path = location.pathname.replace(/^\/sources\/\d+\//, "/sources/1/");
  var best = null, bestLink = null;
  document.querySelectorAll(".side-nav .nav-link").forEach(function (a) {
    var hrefs = [a.getAttribute("href")].concat(a.dataset.also ? [a.dataset.also] : []);
    hrefs.forEach(function (href) {
      href = href.replace(/^\/sources\/\d+\//, "/sources/1/");
      var here = path === href || (href !== "/sources" && path.indexOf(href + "/") === 0);
      if (here && (!best || href.length > best.length)) { best = href; bestLink = a; }
    });
  });
  if (bestLink) bestLink.setAttribute("aria-current", "page");

  window.tickConfirm = function (message, action, okLabel) {
    var el = document.getElementById("confirm-modal");
    if (!el || !window.bootstrap) { if (window.confirm(message)) action(); return; }
    document.getElementById("confirm-body").textContent = message;
    var ok = document.getElementById("confirm-ok");
    var fresh = ok.cloneNode(true);
    fresh.textContent = okLabel || "Delete";
    ok.parentNode.replaceChild(fresh, ok);
    var modal = window.bootstrap.Modal.getOrCreateInstance(el);
    fresh.addEventListener("click", function () { modal.hide(); action(); });
    modal.show();
  };

  window.tickToast = function (text, failed) {
    var box = document.getElementById("toasts");
    if (!box || !window.bootstrap) return;
    var t = document.createElement("div");
    t.className = "toast align-items-center border-" + (failed ? "danger" : "success");
    t.setAttribute("role", failed ? "alert" : "status");
    var row = document.createElement("div");
    row.className = "d-flex";
    var body = document.createElement("div");
    body.className = "toast-body";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close me-2 m-auto";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "Close");
    row.appendChild(body);
    row.appendChild(close);
    t.appendChild(row);
    box.appendChild(t);
    t.addEventListener("hidden.bs.toast", function () { t.remove(); });
    window.bootstrap.Toast.getOrCreateInstance(t, { delay: failed ? 8000 : 3000 }).show();
  };
})();

// Tables with `data-sortable` sort by a header's column when it is clicked (again: the other
// way; a cell's `data-value` sorts before its text); a search box with `data-filter-table` or
// `data-filter-cards` hides the rows or cards that do not contain what is typed.
(function () {
  "use strict";
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-link btn-sm p-0 text-reset fw-semibold text-decoration-none";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[data-sort]").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0], numeric = th.dataset.sort === "number";
        var key = function (row) {
          var cell = row.cells[column], v = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
          return numeric ? Number(v) : v.toLowerCase();
        };
        Array.from(body.rows).sort(function (a, b) {
          var x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
        }).forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  function filter(input, items) {
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      items().forEach(function (el) {
        var text = (el.dataset.filterText || el.textContent).toLowerCase();
        el.hidden = q !== "" && text.indexOf(q) < 0;
      });
    });
  }
  document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
    filter(input, function () { return Array.from(document.querySelectorAll("#" + input.dataset.filterTable + " tbody tr")); });
  });
  document.querySelectorAll("input[data-filter-cards]").forEach(function (input) {
    filter(input, function () { return Array.from(document.getElementById(input.dataset.filterCards).children); });
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
  var nav = document.querySelector(".side-nav .nav-tools");
  if (nav && /(?:^|; )tick_login=1/.test(document.cookie)) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "logout btn btn-sm btn-outline-secondary";
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

  // A series' name in the legend: the column, then the series' tags (`usage host=web1`).
  function seriesLabel(column, tags) {
    var pairs = Object.keys(tags || {}).sort().map(function (k) { return k + "=" + tags[k]; });
    return pairs.length ? column + " " + pairs.join(",") : column;
  }

  // Merges series (each: times + one column per field) into dygraph rows keyed by time.
  function merge(all) {
    var labels = ["time"], byTime = new Map(), width = 0;
    all.forEach(function (s) {
      s.columns.forEach(function (c, i) {
        labels.push(seriesLabel(c, s.tags));
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

  // A number as people read it, with the axis' prefix and suffix: `81.8%`, `1.2 GiB/s` (base
  // 2 with Ki/Mi/Gi, else k/M/G), `digits` significant digits or, when the cell fixes them,
  // `decimals` decimals.
  function decimalsOf(el) {
    return el.dataset.decimals === undefined || el.dataset.decimals === "" ? undefined : Number(el.dataset.decimals);
  }
  function human(v, y, digits, decimals) {
    if (v === null || v === undefined || !isFinite(v)) return "";
    var base2 = y.base === "2", step = base2 ? 1024 : 1000;
    var units = base2 ? ["", "Ki", "Mi", "Gi", "Ti", "Pi"] : ["", "k", "M", "G", "T", "P"];
    var i = 0, n = Number(v);
    while (Math.abs(n) >= step && i < units.length - 1) { n /= step; i++; }
    var text = decimals !== undefined ? n.toFixed(decimals)
      : Math.abs(n) >= Math.pow(10, digits) ? n.toFixed(0) : String(Number(n.toPrecision(digits)));
    var suffix = y.suffix || "";
    return (y.prefix || "") + text + (units[i] ? " " + units[i] + suffix.trim() : suffix);
  }

  // Significant digits that keep the y axis' ticks apart: enough to tell values a tenth of the
  // axis' span apart, at least 3.
  function tickDigits(g) {
    var r = g && g.yAxisRange ? g.yAxisRange() : [0, 1];
    var span = Math.abs(r[1] - r[0]) || 1, top = Math.max(Math.abs(r[0]), Math.abs(r[1]), span);
    return Math.max(3, Math.min(12, Math.ceil(Math.log10(top / (span / 10))) + 1));
  }

  // Series keep their colour across refreshes and pages: it comes from the series' name.
  var PALETTE = ["#4d9cff", "#f5a623", "#3fb97f", "#e5534b", "#b083f0", "#2fc5c5", "#ff8bd0", "#c9d05c", "#ff7f50", "#8b9bb4"];
  function colourOf(label) {
    var h = 0;
    for (var i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }

  // The legend pinned under a chart (names, and the values under the cursor).
  function legendOf(el) {
    var next = el.nextElementSibling, legend = next;
    if (!next || !next.classList.contains("chart-legend")) {
      legend = document.createElement("div");
      legend.className = "chart-legend";
      el.parentNode.insertBefore(legend, el.nextSibling);
    }
    legend.classList.toggle("on-hover", el.dataset.legend === "hover");
    return legend;
  }

  // A crosshair on every chart of the page: the time under the cursor is selected on the
  // others too.
  var drawn = [];
  function nearestRow(g, x) {
    var lo = 0, hi = g.numRows() - 1;
    if (hi < 0) return -1;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (g.getValue(mid, 0) < x) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && Math.abs(g.getValue(lo - 1, 0) - x) < Math.abs(g.getValue(lo, 0) - x)) lo -= 1;
    return lo;
  }
  function follow(source, x) {
    drawn.forEach(function (g) {
      if (g === source || !g.numRows) return;
      var row = nearestRow(g, x);
      if (row >= 0) g.setSelection(row);
    });
  }
  function unfollow(source) {
    drawn.forEach(function (g) { if (g !== source) g.clearSelection(); });
  }

  // Why a chart is empty, in its place.
  function say(el, cls, text) {
    if (el.graph) { el.graph.destroy(); el.graph = null; }
    el.classList.remove("scrolls");
    el.innerHTML = "";
    var p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    el.appendChild(p);
  }

  // `:interval:` as Chronograf computes it: the window's length over the chart's width, one
  // point per 3 pixels (so a 30-day range asks for a few hundred points, not 260 000).
  function intervalFor(el) {
    var grid = el.dataset.rangeMs ? el : el.closest("[data-range-ms]");
    var rangeMs = grid ? Number(grid.dataset.rangeMs) : 0;
    var points = Math.max(1, Math.floor((el.clientWidth || 600) / 3));
    return Math.max(1, Math.ceil((rangeMs || 3600000) / points)) + "ms";
  }

  function draw(el) {
    var interval = intervalFor(el);
    var queries = JSON.parse(el.dataset.queries || "[]").map(function (q) { return q.split(":interval:").join(interval); });
    Promise.all(queries.map(function (q) { return fetchSeries(el.dataset.db, el.dataset.rp, q); }))
      .then(function (answers) {
        var errors = answers.filter(function (a) { return a.error; }).map(function (a) { return a.error; });
        if (errors.length) { say(el, "error", "Query error: " + errors.join("; ")); return; }
        var series = [].concat.apply([], answers.map(function (a) { return a.series; }));
        var data = merge(series);
        if (!data.rows.length) { say(el, "empty", "No data in this range."); return; }
        var kind = el.dataset.kind;
        if (kind === "single-stat" || kind === "gauge") { drawStat(el, data, kind); return; }
        if (kind === "table") { drawTable(el, data); return; }
        if (el.graph) { drawn = drawn.filter(function (g) { return g !== el.graph; }); el.graph.destroy(); }
        el.classList.remove("scrolls");
        var y = yAxis(el);
        var drawStart = performance.now();
        el.graph = new Dygraph(el, data.rows, {
          labelsUTC: localStorage.getItem("tick.utc") === "1",
          labels: data.labels,
          colors: data.labels.slice(1).map(colourOf),
          stackedGraph: el.dataset.kind === "line-stacked",
          stepPlot: el.dataset.kind === "line-stepplot",
          connectSeparatedPoints: false,
          legend: "always",
          labelsDiv: legendOf(el),
          labelsSeparateLines: false,
          axisLabelFontSize: 11,
          gridLineColor: "rgba(128, 128, 128, 0.25)",
          axisLineColor: "rgba(128, 128, 128, 0.5)",
          highlightCallback: function (e, x) { follow(el.graph, x); },
          unhighlightCallback: function () { unfollow(el.graph); },
          zoomCallback: zoomTo,
          dateWindow: customWindow(),
          underlayCallback: thresholdLine(el),
          valueRange: rangeWithThreshold(el, data.rows) || axisBounds(y),
          // dygraphs puts the axis title, tick labels and legend in as HTML: what the cell's
          // author typed, and the store's tag values, go in as text.
          ylabel: y.label ? escapeHtml(y.label) : undefined,
          logscale: y.scale === "log",
          axes: {
            y: {
              axisLabelFormatter: function (v, granularity, opts, g) { return escapeHtml(human(v, y, tickDigits(g))); },
              valueFormatter: function (v) { return escapeHtml(human(v, y, 3, decimalsOf(el))); },
              axisLabelWidth: 64,
            },
          },
          legendFormatter: legendText,
        });
        drawn.push(el.graph);
        // Drawing times, read by bench/dashboard.py.
        (window.tickDrawMs = window.tickDrawMs || []).push(performance.now() - drawStart);
        (window.tickDrawPoints = window.tickDrawPoints || []).push(data.rows.length);
      })
      .catch(function (e) { say(el, "error", String(e)); });
  }

  // The legend: each series' colour and name, with its value at the cursor when there is one.
  function legendText(data) {
    var parts = data.series.filter(function (s) { return s.isVisible; }).map(function (s) {
      var value = data.x === undefined || s.yHTML === undefined ? "" : ' <span class="legend-value">' + s.yHTML + "</span>";
      return '<span class="legend-item"><span class="legend-swatch" style="background:' + s.color + '"></span>' +
        escapeHtml(s.label) + value + "</span>";
    });
    var time = data.x === undefined ? "" : '<span class="legend-time">' + escapeHtml(data.xHTML) + "</span>";
    return time + parts.join("");
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
  // The colour of `value` from a cell's colours: the highest threshold at or below it, else
  // the base colour; null when the cell has none.
  function colourFor(el, value) {
    var colors;
    try { colors = JSON.parse(el.dataset.colors || "[]") || []; } catch (e) { colors = []; }
    if (!colors.length || value === null) return null;
    var base = colors.filter(function (c) { return c.type !== "threshold"; })[0];
    var hit = colors.filter(function (c) { return c.type === "threshold" && Number(c.value) <= value; })
      .sort(function (a, b) { return Number(a.value) - Number(b.value); }).pop();
    return (hit || base || {}).hex || null;
  }

  // The last value of the first column: a big number, or a 0-100 gauge arc, in the colour of
  // the threshold it reached.
  function drawStat(el, data, kind) {
    el.classList.remove("scrolls");
    if (el.graph) { drawn = drawn.filter(function (g) { return g !== el.graph; }); el.graph.destroy(); el.graph = null; }
    var last = null;
    for (var r = data.rows.length - 1; r >= 0 && last === null; r--) last = data.rows[r][1];
    var y = yAxis(el), colour = colourFor(el, last);
    var text = last === null ? "–" : human(last, y, 3, decimalsOf(el));
    if (kind === "single-stat") {
      el.innerHTML = '<div class="single-stat"></div>';
      el.firstChild.textContent = text;
      if (colour) el.firstChild.style.color = colour;
      return;
    }
    var v = Math.max(0, Math.min(100, Number(last) || 0)), a = Math.PI * (1 - v / 100);
    var x = 100 + 80 * Math.cos(a), yy = 100 - 80 * Math.sin(a);
    el.innerHTML = '<svg class="gauge" viewBox="0 0 200 120" role="img"><path d="M20 100 A80 80 0 0 1 180 100" class="track"/>' +
      '<path d="M20 100 A80 80 0 0 1 ' + x.toFixed(1) + ' ' + yy.toFixed(1) + '" class="value"/><text x="100" y="95"></text></svg>';
    el.querySelector("text").textContent = text;
    el.querySelector("svg").setAttribute("aria-label", text);
    if (colour) el.querySelector(".value").style.stroke = colour;
  }

  // A time in one of Chronograf's (moment.js) formats: `MM/DD/YYYY HH:mm:ss` and the like, in
  // UTC or local time as the page is set.
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  var DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  function formatTime(d, format) {
    var utc = localStorage.getItem("tick.utc") === "1";
    var part = {
      Y: utc ? d.getUTCFullYear() : d.getFullYear(), M: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
      D: utc ? d.getUTCDate() : d.getDate(), d: utc ? d.getUTCDay() : d.getDay(),
      H: utc ? d.getUTCHours() : d.getHours(), m: utc ? d.getUTCMinutes() : d.getMinutes(),
      s: utc ? d.getUTCSeconds() : d.getSeconds(), S: utc ? d.getUTCMilliseconds() : d.getMilliseconds(),
    };
    function pad(n, w) { return String(n).padStart(w, "0"); }
    var offset = utc ? 0 : -d.getTimezoneOffset();
    function zone(colon) {
      var a = Math.abs(offset);
      return (offset < 0 ? "-" : "+") + pad(Math.floor(a / 60), 2) + (colon ? ":" : "") + pad(a % 60, 2);
    }
    var tokens = {
      YYYY: function () { return pad(part.Y, 4); }, YY: function () { return pad(part.Y % 100, 2); },
      MMMM: function () { return MONTHS[part.M - 1]; }, MMM: function () { return MONTHS[part.M - 1].slice(0, 3); },
      MM: function () { return pad(part.M, 2); }, M: function () { return String(part.M); },
      DD: function () { return pad(part.D, 2); }, D: function () { return String(part.D); },
      dddd: function () { return DAYS[part.d]; }, ddd: function () { return DAYS[part.d].slice(0, 3); },
      HH: function () { return pad(part.H, 2); }, H: function () { return String(part.H); },
      hh: function () { return pad(part.H % 12 || 12, 2); }, h: function () { return String(part.H % 12 || 12); },
      mm: function () { return pad(part.m, 2); }, m: function () { return String(part.m); },
      ss: function () { return pad(part.s, 2); }, s: function () { return String(part.s); },
      SSS: function () { return pad(part.S, 3); }, A: function () { return part.H < 12 ? "AM" : "PM"; },
      a: function () { return part.H < 12 ? "am" : "pm"; }, ZZ: function () { return zone(false); },
      Z: function () { return zone(true); }, X: function () { return String(Math.floor(d.getTime() / 1000)); },
      x: function () { return String(d.getTime()); },
    };
    return format.replace(/\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|X|x/g,
      function (t, literal) { return literal !== undefined ? literal : tokens[t](); });
  }
  window.tickFormatTime = formatTime;

  // A table cell as Chronograf draws it: `fieldOptions` rename, hide and order the columns,
  // `tableOptions` pick the sort column (a header click sorts by another, or turns the order),
  // the time axis (rows are times, or with `verticalTimeAxis` off, columns are), wrapping and a
  // fixed first column; times in `timeFormat`.
  function drawTable(el, data) {
    var opts = el.dataset.table ? JSON.parse(el.dataset.table) : {};
    var table = opts.tableOptions || {}, fields = opts.fieldOptions || [];
    var format = opts.timeFormat || "MM/DD/YYYY HH:mm:ss";
    var sort = el.tableSort || { column: (table.sortBy && table.sortBy.internalName) || "time", descending: true };
    function option(label) { return fields.filter(function (f) { return f.internalName === label; })[0]; }
    function rank(label) { var o = option(label); return o ? fields.indexOf(o) : fields.length; }
    var columns = data.labels.map(function (label, i) {
      var o = option(label);
      return { i: i, label: label, name: (o && o.displayName) || label, shown: !o || o.visible !== false };
    }).filter(function (c) { return c.shown; });
    columns.sort(function (a, b) { return (a.i === 0 ? -1 : rank(a.label)) - (b.i === 0 ? -1 : rank(b.label)) || a.i - b.i; });
    var by = data.labels.indexOf(sort.column);
    if (by < 0) by = 0;
    var rows = data.rows.slice().sort(function (a, b) {
      var x = a[by], y = b[by];
      if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * (sort.descending ? -1 : 1);
    }).slice(0, 100);
    function text(v, column) {
      return column === 0 ? formatTime(v, format) : v === null ? "" : String(v);
    }
    var t = document.createElement("table");
    t.className = "cell-table wrap-" + (table.wrapping || "truncate") + (table.fixFirstColumn === false ? "" : " fixed-first");
    var grid = table.verticalTimeAxis === false
      ? [[""].concat(rows.map(function (r) { return text(r[0], 0); }))].concat(columns.filter(function (c) { return c.i !== 0; })
        .map(function (c) { return [c].concat(rows.map(function (r) { return text(r[c.i], c.i); })); }))
      : [columns].concat(rows.map(function (r) { return columns.map(function (c) { return text(r[c.i], c.i); }); }));
    grid.forEach(function (line, n) {
      var tr = document.createElement("tr");
      line.forEach(function (v, k) {
        var head = n === 0 || k === 0 && table.verticalTimeAxis === false;
        var cell = document.createElement(head ? "th" : "td");
        if (typeof v === "object" && v !== null) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "btn btn-link btn-sm p-0 text-reset text-decoration-none fw-semibold";
          b.textContent = v.name + (v.label === data.labels[by] ? (sort.descending ? " ▼" : " ▲") : "");
          b.setAttribute("aria-label", "Sort by " + v.name);
          b.addEventListener("click", function () {
            el.tableSort = { column: v.label, descending: v.label === data.labels[by] ? !sort.descending : true };
            drawTable(el, data);
          });
          cell.appendChild(b);
        } else {
          cell.textContent = v;
        }
        tr.appendChild(cell);
      });
      t.appendChild(tr);
    });
    el.innerHTML = "";
    el.classList.add("scrolls");
    el.appendChild(t);
    el.dispatchEvent(new CustomEvent("tick-columns", { detail: data.labels }));
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
