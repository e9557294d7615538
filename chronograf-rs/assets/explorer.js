// Data Explorer: the query builder (builder.js) and a raw editor whose result is drawn as a
// graph and a table, offered as CSV and sent to a dashboard.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  // On a phone the builder starts folded, so that the editor and the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 767.98px)").matches) $("builder-panel").open = false;

  // The builder, and the raw editor whose completion offers what the builder lists.
  var builder = window.tickBuilder("", null);
  var editor = window.tickEditor ? window.tickEditor($("query"), "influxql", builder.words) : null;
  function query() { return $("query").value; }
  function setQuery(q) { if (editor) editor.setValue(q); else $("query").value = q; }

  // The results as tables, one per series, PAGE rows at a time.
  var PAGE = 50;
  function table(series) {
    var out = $("table");
    out.innerHTML = "";
    series.forEach(function (s) {
      var box = document.createElement("div");
      box.className = "card mb-3";
      var t = document.createElement("table");
      t.className = "table table-sm table-striped mb-0";
      var caption = document.createElement("caption");
      caption.className = "px-2";
      caption.textContent = s.name + (s.tags ? " " + JSON.stringify(s.tags) : "") + " · " + s.times.length + " rows";
      t.appendChild(caption);
      var head = document.createElement("thead"), headRow = document.createElement("tr");
      ["time"].concat(s.columns).forEach(function (c) { var th = document.createElement("th"); th.scope = "col"; th.textContent = c; headRow.appendChild(th); });
      head.appendChild(headRow);
      t.appendChild(head);
      var body = document.createElement("tbody");
      t.appendChild(body);
      var wrap = document.createElement("div");
      wrap.className = "table-responsive";
      wrap.appendChild(t);
      box.appendChild(wrap);
      var pages = Math.max(1, Math.ceil(s.times.length / PAGE)), page = 0;
      var nav = document.createElement("div");
      nav.className = "card-footer d-flex align-items-center gap-2";
      var prev = document.createElement("button"), next = document.createElement("button"), where = document.createElement("span");
      prev.type = next.type = "button";
      prev.className = next.className = "btn btn-sm btn-outline-secondary";
      prev.textContent = "Previous"; next.textContent = "Next";
      where.className = "muted small";
      function show() {
        body.textContent = "";
        for (var n = page * PAGE; n < Math.min(s.times.length, (page + 1) * PAGE); n++) {
          var tr = document.createElement("tr"), td = document.createElement("td");
          td.className = "text-nowrap";
          td.textContent = new Date(s.times[n]).toISOString(); tr.appendChild(td);
          s.values.forEach(function (col) { var c = document.createElement("td"); c.textContent = col[n] === null ? "" : String(col[n]); tr.appendChild(c); });
          body.appendChild(tr);
        }
        where.textContent = "Page " + (page + 1) + " of " + pages;
        prev.disabled = page === 0;
        next.disabled = page + 1 >= pages;
      }
      prev.addEventListener("click", function () { page -= 1; show(); });
      next.addEventListener("click", function () { page += 1; show(); });
      show();
      if (pages > 1) {
        nav.appendChild(prev); nav.appendChild(where); nav.appendChild(next);
        box.appendChild(nav);
      }
      out.appendChild(box);
    });
  }

  function run() {
    var q = query(), db = $("db").value;
    $("csv").href = "/chronograf/v1/sources/" + window.tickSource + "/csv?" + new URLSearchParams({ db: db, q: q }).toString();
    $("query-error").textContent = "";
    fetch("/chronograf/v1/sources/" + window.tickSource + "/series", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ db: db, query: q }),
    }).then(function (r) { return r.json(); }).then(function (a) {
      if (a.error) {
        $("query-error").textContent = a.error;
        if (editor) window.tickMarkError(editor, a.error);
      }
      table(a.series || []);
      var el = $("graph");
      if (el.graph) { el.graph.destroy(); el.graph = null; }
      el.innerHTML = "";
      var numeric = (a.series || []).filter(function (s) { return s.values.some(function (c) { return c.some(function (v) { return typeof v === "number"; }); }); });
      if (numeric.length) { el.dataset.queries = JSON.stringify([q]); el.dataset.db = db; el.dataset.rp = ""; window.tickDraw(el); }
    });
  }

  // The query as a dashboard's cell has it: its time range and interval follow the
  // dashboard's (`:dashboardTime:`, `:interval:`).
  function forDashboard(q) {
    return q.replace(/time\s*>\s*now\(\)\s*-\s*\d+(ns|u|µ|ms|s|m|h|d|w)\b/gi, "time > :dashboardTime:")
      .replace(/time\(\s*\d+(ns|u|µ|ms|s|m|h|d|w)\s*\)/gi, "time(:interval:)");
  }

  // The query as a new line cell of the chosen dashboard (or of a new one).
  function send() {
    var q = forDashboard(query()), db = $("db").value, id = $("send-dashboard").value;
    var cell = { name: $("measurement").value || "query", type: "line", x: 0, y: 0, w: 6, h: 4, queries: [{ query: q, db: db }] };
    var json = function (r) {
      return r.json().then(function (v) { if (!r.ok) throw new Error(v.message || r.statusText); return v; });
    };
    var send = function (method, path, body) {
      return fetch(path, { method: method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then(json);
    };
    var done = id
      ? fetch("/chronograf/v1/dashboards/" + id).then(json).then(function (d) {
          cell.y = d.cells.reduce(function (m, c) { return Math.max(m, c.y + c.h); }, 0);
          d.cells.push(cell);
          return send("PUT", "/chronograf/v1/dashboards/" + id, d);
        })
      : send("POST", "/chronograf/v1/dashboards", { name: cell.name, cells: [cell] });
    done.then(function (d) { location.href = "/sources/" + window.tickSource + "/dashboards/" + d.id; },
      function (e) { $("query-error").textContent = e.message; });
  }

  $("send").addEventListener("click", send);
  $("build").addEventListener("click", function () { setQuery(builder.query()); run(); });
  $("run").addEventListener("click", run);
  builder.load().then(function () { if (query()) run(); });
})();
