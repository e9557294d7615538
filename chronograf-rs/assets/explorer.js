// Data Explorer: schema lists from /chronograf/v1/sources/1/schema, a query builder writing
// InfluxQL the way Chronograf's does, and a raw editor whose result is drawn as a graph and a
// table (and offered as CSV).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function schema(params) {
    var qs = new URLSearchParams(params).toString();
    return fetch("/chronograf/v1/sources/" + window.tickSource + "/schema?" + qs).then(function (r) { return r.json(); });
  }

  function fill(select, items) {
    select.innerHTML = "";
    items.forEach(function (v) { var o = document.createElement("option"); o.textContent = v; o.value = v; select.appendChild(o); });
  }

  function loadMeasurements() {
    return schema({ db: $("db").value }).then(function (s) { fill($("measurement"), s.measurements || []); return loadFields(); });
  }

  function loadFields() {
    if (!$("measurement").value) { fill($("field"), []); return Promise.resolve(); }
    return schema({ db: $("db").value, measurement: $("measurement").value }).then(function (s) {
      fill($("field"), s.fields || []);
      var tags = $("tags");
      tags.innerHTML = "";
      (s.tags || []).forEach(function (t) {
        var label = document.createElement("label");
        label.textContent = "group by " + t + " ";
        var box = document.createElement("input");
        box.type = "checkbox"; box.value = t; box.className = "groupby";
        label.appendChild(box);
        tags.appendChild(label);
      });
    });
  }

  function quoteIdent(s) { return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'; }

  // The text Chronograf's builder writes.
  function buildQuery() {
    var fn = $("function").value, field = quoteIdent($("field").value);
    var select = fn ? fn + "(" + field + ") AS " + quoteIdent(fn + "_" + $("field").value) : field;
    var q = "SELECT " + select + " FROM " + quoteIdent($("db").value) + ".." + quoteIdent($("measurement").value) +
      " WHERE time > now() - " + $("range").value;
    var groups = Array.from(document.querySelectorAll(".groupby:checked")).map(function (b) { return quoteIdent(b.value); });
    if (fn) groups.unshift("time(" + $("interval").value + ")");
    if (groups.length) q += " GROUP BY " + groups.join(", ");
    if (fn) q += " FILL(null)";
    $("query").value = q;
  }

  function table(series) {
    var out = $("table");
    out.innerHTML = "";
    series.forEach(function (s) {
      var t = document.createElement("table"), head = document.createElement("tr");
      ["time"].concat(s.columns).forEach(function (c) { var th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
      t.appendChild(head);
      s.times.forEach(function (time, n) {
        var tr = document.createElement("tr"), td = document.createElement("td");
        td.textContent = new Date(time).toISOString(); tr.appendChild(td);
        s.values.forEach(function (col) { var c = document.createElement("td"); c.textContent = col[n] === null ? "" : String(col[n]); tr.appendChild(c); });
        t.appendChild(tr);
      });
      var caption = document.createElement("caption");
      caption.textContent = s.name + (s.tags ? " " + JSON.stringify(s.tags) : "");
      t.prepend(caption);
      out.appendChild(t);
    });
  }

  function run() {
    var q = $("query").value, db = $("db").value;
    $("csv").href = "/chronograf/v1/sources/" + window.tickSource + "/csv?" + new URLSearchParams({ db: db, q: q }).toString();
    $("query-error").textContent = "";
    fetch("/chronograf/v1/sources/" + window.tickSource + "/series", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ db: db, query: q }),
    }).then(function (r) { return r.json(); }).then(function (a) {
      if (a.error) { $("query-error").textContent = a.error; }
      table(a.series || []);
      var el = $("graph");
      if (el.graph) { el.graph.destroy(); el.graph = null; }
      el.innerHTML = "";
      var numeric = (a.series || []).filter(function (s) { return s.values.some(function (c) { return c.some(function (v) { return typeof v === "number"; }); }); });
      if (numeric.length) { el.dataset.queries = JSON.stringify([q]); el.dataset.db = db; el.dataset.rp = ""; window.tickDraw(el); }
    });
  }

  $("db").addEventListener("change", loadMeasurements);
  $("measurement").addEventListener("change", loadFields);
  $("build").addEventListener("click", function () { buildQuery(); run(); });
  $("run").addEventListener("click", run);
  loadMeasurements().then(function () { if ($("query").value) run(); });
})();
