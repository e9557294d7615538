// The query builder of the Data Explorer and of the dashboard's cell editor: labelled lists of
// a database's retention policies, measurements, fields and tags (with their values) from
// /chronograf/v1/sources/{id}/schema, and the InfluxQL Chronograf's builder writes from what is
// picked (function, tag filters OR-ed per tag, group by time and tags, fill).
//
// `tickBuilder(prefix, over)`: the controls are the page's elements with ids `prefix + "db"`,
// `"rp"`, `"measurement"`, `"field"`, `"function"`, `"tags"` and, when present, `"interval"`,
// `"fill"` and `"range"`; `over` is the time condition and interval to write when the page has
// no range or interval list (a dashboard cell: `:dashboardTime:`, `:interval:`).
(function () {
  "use strict";

  function quoteIdent(s) { return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'; }
  function quoteString(s) { return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'"; }

  function fill(select, items) {
    if (!select) return;
    select.innerHTML = "";
    items.forEach(function (v) { var o = document.createElement("option"); o.textContent = v; o.value = v; select.appendChild(o); });
  }

  window.tickBuilder = function (prefix, over) {
    var $ = function (id) { return document.getElementById(prefix + id); };
    var value = function (id, otherwise) { var el = $(id); return el ? el.value : otherwise; };

    function schema(params) {
      var qs = new URLSearchParams(params).toString();
      return fetch("/chronograf/v1/sources/" + window.tickSource + "/schema?" + qs).then(function (r) { return r.json(); });
    }

    function loadFields() {
      if (!$("measurement").value) { fill($("field"), []); $("tags").innerHTML = ""; return Promise.resolve(); }
      return schema({ db: $("db").value, measurement: $("measurement").value }).then(function (s) {
        fill($("field"), s.fields || []);
        var tags = $("tags");
        tags.innerHTML = "";
        (s.tags || []).forEach(function (t, n) {
          var group = document.createElement("div");
          group.className = "tag-group";
          var check = document.createElement("div");
          check.className = "form-check";
          var box = document.createElement("input");
          box.type = "checkbox"; box.value = t; box.className = "groupby form-check-input"; box.id = prefix + "groupby-" + n;
          var label = document.createElement("label");
          label.className = "form-check-label"; label.htmlFor = box.id;
          label.textContent = "Group by " + t;
          check.appendChild(box);
          check.appendChild(label);
          group.appendChild(check);
          // Picked values filter the query (`t = 'a' OR t = 'b'`).
          var valuesLabel = document.createElement("label");
          valuesLabel.className = "form-label"; valuesLabel.htmlFor = prefix + "tag-filter-" + n;
          valuesLabel.textContent = t + " is one of";
          var values = document.createElement("select");
          values.multiple = true; values.className = "tag-filter form-select form-select-sm"; values.dataset.tag = t;
          values.id = prefix + "tag-filter-" + n; values.size = 3;
          ((s.tagValues || {})[t] || []).forEach(function (v) {
            var o = document.createElement("option"); o.value = v; o.textContent = v; values.appendChild(o);
          });
          group.appendChild(valuesLabel);
          group.appendChild(values);
          tags.appendChild(group);
        });
      });
    }

    function loadMeasurements() {
      return schema({ db: $("db").value }).then(function (s) {
        fill($("rp"), s.retentionPolicies || []);
        fill($("measurement"), s.measurements || []);
        return loadFields();
      });
    }

    // The text Chronograf's builder writes.
    function query() {
      var fn = $("function").value, field = quoteIdent($("field").value);
      var select = fn ? fn + "(" + field + ") AS " + quoteIdent(fn + "_" + $("field").value) : field;
      var rp = value("rp", "");
      var q = "SELECT " + select + " FROM " + quoteIdent($("db").value) + "." +
        (rp ? quoteIdent(rp) : "") + "." + quoteIdent($("measurement").value) + " WHERE " +
        ($("range") ? "time > now() - " + $("range").value : over.time);
      $("tags").querySelectorAll(".tag-filter").forEach(function (sel) {
        var picked = Array.from(sel.selectedOptions).map(function (o) { return quoteIdent(sel.dataset.tag) + " = " + quoteString(o.value); });
        if (picked.length) q += " AND (" + picked.join(" OR ") + ")";
      });
      var groups = Array.from($("tags").querySelectorAll(".groupby:checked")).map(function (b) { return quoteIdent(b.value); });
      if (fn) groups.unshift("time(" + value("interval", over && over.interval) + ")");
      if (groups.length) q += " GROUP BY " + groups.join(", ");
      if (fn) q += " FILL(" + value("fill", "null") + ")";
      return q;
    }

    // What the editor's completion offers: measurements, fields, tag keys and values.
    function words() {
      var of = function (selector) { return Array.from(document.querySelectorAll(selector)).map(function (o) { return o.value; }); };
      var tags = Array.from($("tags").querySelectorAll(".tag-filter")).map(function (s) { return s.dataset.tag; });
      return of("#" + prefix + "measurement option").concat(of("#" + prefix + "field option"), tags,
        of("#" + prefix + "tags .tag-filter option"));
    }

    $("db").addEventListener("change", loadMeasurements);
    $("measurement").addEventListener("change", loadFields);
    return { load: loadMeasurements, query: query, words: words };
  };
})();
