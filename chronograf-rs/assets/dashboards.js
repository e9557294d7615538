// Dashboards: create, import, rename, clone, delete, add, delete, move and resize cells and template
// variables through the JSON API; a variable's choice goes in the URL as ?tempVars[name]=value.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      return r.text().then(function (t) {
        var v = t ? JSON.parse(t) : {};
        if (!r.ok) throw new Error(v.message || r.statusText);
        return v;
      });
    });
  }

  function fail(id) { return function (e) { $(id).textContent = e.message; }; }

  if ($("create-dashboard")) {
    $("create-dashboard").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/chronograf/v1/dashboards", { name: $("dashboard-name").value, cells: [] })
        .then(function (d) { location.href = "/sources/" + window.tickSource + "/dashboards/" + d.id; });
    });
    $("import").addEventListener("click", function () {
      var d;
      try { d = JSON.parse($("import-json").value); } catch (e) { $("import-error").textContent = "invalid JSON: " + e.message; return; }
      api("POST", "/chronograf/v1/dashboards", d).then(function (d) { location.href = "/sources/" + window.tickSource + "/dashboards/" + d.id; }, fail("import-error"));
    });
    return;
  }

  var id = $("dashboard").dataset.id, path = "/chronograf/v1/dashboards/" + id;
  function update(change) {
    return api("GET", path).then(function (d) { change(d); return api("PUT", path, d); })
      .then(function () { location.reload(); }, fail("dashboard-error"));
  }
  $("rename").addEventListener("click", function () {
    var name = prompt("Dashboard name", $("dashboard").textContent);
    if (name) update(function (d) { d.name = name; });
  });
  $("clone").addEventListener("click", function () {
    api("GET", path).then(function (d) {
      d.name = d.name + " (clone)";
      delete d.id;
      return api("POST", "/chronograf/v1/dashboards", d);
    }).then(function (d) { location.href = "/sources/" + window.tickSource + "/dashboards/" + d.id; }, fail("dashboard-error"));
  });
  $("delete-dashboard").addEventListener("click", function () {
    tickConfirm("Delete this dashboard?", function () { api("DELETE", path).then(function () { location.href = "/sources/" + window.tickSource + "/dashboards"; }); });
  });
  $("add-cell").addEventListener("submit", function (ev) {
    ev.preventDefault();
    update(function (d) {
      var y = d.cells.reduce(function (m, c) { return Math.max(m, c.y + c.h); }, 0);
      d.cells.push({ name: $("cell-name").value, type: $("cell-type").value, x: 0, y: y, w: 4, h: 4,
        queries: [{ query: $("cell-query").value, db: $("cell-db").value }],
        axes: { y: { label: $("cell-ylabel").value, bounds: [$("cell-ymin").value, $("cell-ymax").value],
          scale: $("cell-ylog").checked ? "log" : "linear" } } });
    });
  });
  // Picking a range keeps the chosen variables.
  document.querySelectorAll(".ranges a").forEach(function (a) {
    var p = new URLSearchParams(location.search);
    p.delete("lower");
    p.delete("upper");
    p.set("range", new URLSearchParams(a.getAttribute("href").slice(1)).get("range"));
    a.href = "?" + p.toString();
  });
  document.querySelectorAll(".template-var").forEach(function (el) {
    el.addEventListener("change", function () {
      var p = new URLSearchParams(location.search);
      p.set("tempVars[" + el.dataset.key + "]", el.value);
      location.search = p.toString();
    });
  });
  $("add-var").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var type = $("var-type").value, raw = $("var-values").value;
    var values = (type === "text" ? [raw] : raw.split(",")).map(function (v) { return v.trim(); })
      .filter(Boolean).map(function (v, n) {
        // A map's entries are `name=value`: the name is shown, the value goes in the query.
        var eq = type === "map" ? v.indexOf("=") : -1;
        return eq > 0 ? { key: v.slice(0, eq).trim(), value: v.slice(eq + 1).trim(), selected: n === 0 }
          : { value: v, selected: n === 0 };
      });
    update(function (d) {
      d.templates = d.templates || [];
      d.templates.push({ tempVar: $("var-name").value, type: type, values: values,
        query: { db: $("var-db").value, measurement: $("var-measurement").value, tagKey: $("var-key").value } });
    });
  });
  document.querySelectorAll(".delete-cell").forEach(function (b) {
    b.addEventListener("click", function () {
      update(function (d) { d.cells = d.cells.filter(function (c) { return c.i !== b.dataset.i; }); });
    });
  });
  // Move (drag the title) and resize (drag the corner) on the 12-column grid; the new
  // place is saved when the pointer is released.
  var grid = $("grid"), ROW = 60, GAP = 12;
  function gridDrag(cell, ev, resize) {
    if (ev.button !== 0 || ev.target.closest("button")) return;
    ev.preventDefault();
    var col = (grid.clientWidth + GAP) / 12, start = { x: ev.clientX, y: ev.clientY };
    var from = { x: +cell.dataset.x, y: +cell.dataset.y, w: +cell.dataset.w, h: +cell.dataset.h };
    var to = Object.assign({}, from);
    cell.classList.add("moving");
    function place(e) {
      var dx = Math.round((e.clientX - start.x) / col), dy = Math.round((e.clientY - start.y) / (ROW + GAP));
      if (resize) {
        to.w = Math.max(1, Math.min(12 - from.x, from.w + dx));
        to.h = Math.max(1, from.h + dy);
      } else {
        to.x = Math.max(0, Math.min(12 - from.w, from.x + dx));
        to.y = Math.max(0, from.y + dy);
      }
      cell.style.gridColumn = (to.x + 1) + " / span " + to.w;
      cell.style.gridRow = (to.y + 1) + " / span " + to.h;
    }
    function drop() {
      document.removeEventListener("pointermove", place);
      document.removeEventListener("pointerup", drop);
      cell.classList.remove("moving");
      if (to.x === from.x && to.y === from.y && to.w === from.w && to.h === from.h) return;
      update(function (d) {
        d.cells.forEach(function (c) { if (c.i === cell.dataset.i) Object.assign(c, to); });
      });
    }
    document.addEventListener("pointermove", place);
    document.addEventListener("pointerup", drop);
  }
  document.querySelectorAll("#grid .cell").forEach(function (cell) {
    cell.querySelector(".drag-handle").addEventListener("pointerdown", function (ev) { gridDrag(cell, ev, false); });
    cell.querySelector(".resize-handle").addEventListener("pointerdown", function (ev) { gridDrag(cell, ev, true); });
  });
})();
