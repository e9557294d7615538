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
  // The cell editor (a modal): a new cell, or the one whose Edit was clicked; a live preview
  // draws the query over the dashboard's range as it is typed.
  var builder = window.tickBuilder("cb-", { time: "time > :dashboardTime: AND time < :upperDashboardTime:", interval: ":interval:" });
  var cellEditor = window.tickEditor ? window.tickEditor($("cell-query"), "influxql", builder.words) : null;
  var builderLoaded = false;
  $("cell-builder").addEventListener("toggle", function () {
    if ($("cell-builder").open && !builderLoaded) { builderLoaded = true; builder.load(); }
  });
  $("cb-write").addEventListener("click", function () {
    $("cell-db").value = $("cb-db").value;
    setQueryText(builder.query());
    schedulePreview();
  });
  var modalEl = $("cell-modal"), editing = null, previewTimer = null;
  var modal = window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(modalEl) : null;
  function queryText() { return $("cell-query").value; }
  function setQueryText(q) { if (cellEditor) cellEditor.setValue(q); else $("cell-query").value = q; }
  function colours() {
    var list = [{ id: "base", type: "text", hex: $("cell-base-colour").value, name: "base", value: "-1e+100" }];
    [["cell-t1", "cell-t1-colour"], ["cell-t2", "cell-t2-colour"]].forEach(function (t, n) {
      var v = $(t[0]).value.trim();
      if (v !== "" && !isNaN(Number(v))) list.push({ id: "t" + (n + 1), type: "threshold", hex: $(t[1]).value, name: "threshold", value: v });
    });
    return list;
  }
  // The table's settings in Chronograf's shape. `columns` holds the `fieldOptions`: the cell's
  // own, then any column the preview shows that they do not name.
  var columns = [];
  function tableFromForm() {
    return {
      tableOptions: { verticalTimeAxis: $("cell-time-axis").value !== "horizontal",
        sortBy: { internalName: $("cell-sort").value || "time", displayName: "", visible: true },
        wrapping: $("cell-wrapping").value, fixFirstColumn: $("cell-fix-first").checked },
      fieldOptions: columns.map(function (c) { return Object.assign({}, c); }),
      timeFormat: $("cell-time-format").value.trim(),
    };
  }
  function showColumns() {
    var list = $("cell-columns"), sort = $("cell-sort"), chosen = sort.value || "time";
    if (!columns.length) return;
    list.innerHTML = "";
    sort.innerHTML = "";
    columns.forEach(function (c, n) {
      var row = document.createElement("div");
      row.className = "d-flex gap-2 align-items-center";
      row.innerHTML = '<div class="form-check mb-0 flex-grow-1 text-truncate"><input type="checkbox" class="form-check-input" id="col-shown-' + n +
        '"><label class="form-check-label" for="col-shown-' + n + '"></label></div><label class="visually-hidden" for="col-name-' + n +
        '"></label><input class="form-control form-control-sm w-50" id="col-name-' + n + '" placeholder="Display name">';
      row.querySelector(".form-check-label").textContent = c.internalName;
      row.querySelector(".visually-hidden").textContent = "Display name for " + c.internalName;
      var shown = row.querySelector("input[type=checkbox]"), name = row.querySelector("input.form-control");
      shown.checked = c.visible !== false;
      name.value = c.displayName || "";
      shown.addEventListener("change", function () { c.visible = shown.checked; });
      name.addEventListener("input", function () { c.displayName = name.value; });
      list.appendChild(row);
      var o = document.createElement("option");
      o.value = c.internalName;
      o.textContent = c.displayName || c.internalName;
      sort.appendChild(o);
    });
    if (!columns.some(function (c) { return c.internalName === chosen; })) {
      var kept = document.createElement("option");
      kept.value = kept.textContent = chosen;
      sort.insertBefore(kept, sort.firstChild);
    }
    sort.value = chosen;
  }
  $("cell-preview").addEventListener("tick-columns", function (ev) {
    var added = false;
    ev.detail.forEach(function (label) {
      if (columns.some(function (c) { return c.internalName === label; })) return;
      columns.push({ internalName: label, displayName: "", visible: true });
      added = true;
    });
    if (added || !$("cell-columns").querySelector("input")) showColumns();
  });
  function cellFromForm() {
    return Object.assign(tableFromForm(), {
      name: $("cell-name").value.trim(), type: $("cell-type").value,
      queries: [{ query: queryText(), db: $("cell-db").value }],
      axes: { y: { label: $("cell-ylabel").value, prefix: $("cell-yprefix").value, suffix: $("cell-ysuffix").value,
        base: $("cell-ybase").value, bounds: [$("cell-ymin").value, $("cell-ymax").value],
        scale: $("cell-ylog").checked ? "log" : "linear" } },
      colors: colours(),
      legend: { type: $("cell-legend").value, orientation: "bottom" },
      decimalPlaces: { isEnforced: $("cell-decimals").value.trim() !== "", digits: Number($("cell-decimals").value) || 0 },
      note: $("cell-note").value.trim(),
    });
  }
  function problem(cell) {
    if (!cell.name) return "the cell needs a name";
    if (!cell.queries[0].query.trim()) return "the cell needs a query";
    var dec = $("cell-decimals").value.trim();
    if (dec !== "" && !/^(10|\d)$/.test(dec)) return "decimal places: a whole number from 0 to 10, or empty";
    var b = cell.axes.y.bounds;
    if (b.some(function (v) { return v !== "" && isNaN(Number(v)); })) return "the y axis bounds must be numbers";
    if (b[0] !== "" && b[1] !== "" && Number(b[0]) >= Number(b[1])) return "the y axis minimum must be below its maximum";
    if (cell.type === "table" && !cell.timeFormat) return "the table needs a time format";
    return "";
  }
  function showStatFields() {
    var stat = ["single-stat", "gauge"].indexOf($("cell-type").value) >= 0;
    document.querySelectorAll(".stat-only").forEach(function (e) { e.hidden = !stat; });
    document.querySelectorAll(".table-only").forEach(function (e) { e.hidden = $("cell-type").value !== "table"; });
  }
  function preview() {
    var cell = cellFromForm(), chart = $("cell-preview");
    $("cell-error").textContent = "";
    if (!cell.queries[0].query.trim()) return;
    var grid = $("grid");
    chart.dataset.kind = cell.type;
    chart.dataset.db = cell.queries[0].db;
    chart.dataset.yAxis = JSON.stringify(cell.axes.y);
    chart.dataset.colors = JSON.stringify(cell.colors);
    chart.dataset.legend = cell.legend.type === "hover" ? "hover" : "";
    chart.dataset.decimals = cell.decimalPlaces.isEnforced ? String(cell.decimalPlaces.digits) : "";
    chart.dataset.rangeMs = grid.dataset.rangeMs;
    chart.dataset.table = JSON.stringify(tableFromForm());
    chart.tableSort = null;
    // The server puts in the variables and the range as the saved cell will have them.
    var params = new URLSearchParams(location.search);
    params.set("query", cell.queries[0].query);
    fetch("/chronograf/v1/dashboards/" + grid.dataset.dashboard + "/render?" + params.toString(),
      { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (answer) {
        chart.dataset.queries = JSON.stringify([answer.query]);
        window.tickDraw(chart);
      })
      .catch(function (e) { $("cell-error").textContent = "preview: " + e.message; });
  }
  function schedulePreview() { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 400); }
  function openEditor(cell) {
    editing = cell;
    var y = (cell && cell.axes && cell.axes.y) || {}, b = y.bounds || ["", ""];
    $("cell-modal-title").textContent = cell ? "Edit cell" : "Add a cell";
    $("cell-save").textContent = cell ? "Save cell" : "Add cell";
    $("cell-name").value = cell ? cell.name : "";
    $("cell-note").value = cell && cell.note ? cell.note : "";
    $("cell-type").value = cell ? cell.type : "line";
    $("cell-db").value = cell && cell.queries[0] ? cell.queries[0].db : "telegraf";
    $("cell-ylabel").value = y.label || "";
    $("cell-yprefix").value = y.prefix || "";
    $("cell-ysuffix").value = y.suffix || "";
    $("cell-ybase").value = y.base === "2" ? "2" : "10";
    $("cell-ymin").value = b[0] || "";
    $("cell-ymax").value = b[1] || "";
    $("cell-ylog").checked = y.scale === "log";
    $("cell-legend").value = cell && cell.legend && cell.legend.type === "hover" ? "hover" : "static";
    $("cell-decimals").value = cell && cell.decimalPlaces && cell.decimalPlaces.isEnforced ? String(cell.decimalPlaces.digits) : "";
    var colors = (cell && cell.colors) || [], thresholds = colors.filter(function (c) { return c.type === "threshold"; });
    var base = colors.filter(function (c) { return c.type !== "threshold"; })[0];
    $("cell-base-colour").value = base ? base.hex : "#3fb97f";
    $("cell-t1").value = thresholds[0] ? thresholds[0].value : "";
    $("cell-t1-colour").value = thresholds[0] ? thresholds[0].hex : "#ffb94a";
    $("cell-t2").value = thresholds[1] ? thresholds[1].value : "";
    $("cell-t2-colour").value = thresholds[1] ? thresholds[1].hex : "#e5534b";
    var table = (cell && cell.tableOptions) || {};
    $("cell-time-axis").value = table.verticalTimeAxis === false ? "horizontal" : "vertical";
    $("cell-wrapping").value = ["wrap", "single-line"].indexOf(table.wrapping) >= 0 ? table.wrapping : "truncate";
    $("cell-fix-first").checked = table.fixFirstColumn !== false;
    $("cell-time-format").value = (cell && cell.timeFormat) || "MM/DD/YYYY HH:mm:ss";
    columns = ((cell && cell.fieldOptions) || []).map(function (c) { return Object.assign({}, c); });
    $("cell-columns").innerHTML = '<p class="muted small mb-0">The preview\'s columns appear here.</p>';
    var sortBy = document.createElement("option");
    sortBy.value = sortBy.textContent = (table.sortBy && table.sortBy.internalName) || "time";
    $("cell-sort").innerHTML = "";
    $("cell-sort").appendChild(sortBy);
    showColumns();
    $("cell-error").textContent = "";
    $("cell-preview").innerHTML = "";
    showStatFields();
    if (modal) modal.show(); else modalEl.hidden = false;
    setQueryText(cell && cell.queries[0] ? cell.queries[0].query : "");
    if (cellEditor) setTimeout(function () { cellEditor.refresh(); cellEditor.focus(); }, 200);
    schedulePreview();
  }
  $("new-cell").addEventListener("click", function () { openEditor(null); });
  document.querySelectorAll(".edit-cell").forEach(function (b) {
    b.addEventListener("click", function () {
      api("GET", path).then(function (d) {
        openEditor(d.cells.filter(function (c) { return c.i === b.dataset.i; })[0] || null);
      }, fail("dashboard-error"));
    });
  });
  $("cell-type").addEventListener("change", function () { showStatFields(); schedulePreview(); });
  $("add-cell").addEventListener("input", schedulePreview);
  if (cellEditor) cellEditor.on("change", schedulePreview);
  $("add-cell").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var cell = cellFromForm(), why = problem(cell);
    if (why) {
      $("cell-error").textContent = why;
      if (!cell.name) $("cell-name").focus(); else if (cellEditor) cellEditor.focus();
      return;
    }
    var was = editing;
    update(function (d) {
      if (was) {
        // The editor shows a cell's first query; the others stay as they were.
        d.cells.forEach(function (c) {
          if (c.i !== was.i) return;
          cell.queries = cell.queries.concat((c.queries || []).slice(1));
          Object.assign(c, cell);
        });
      } else {
        var y = d.cells.reduce(function (m, c) { return Math.max(m, c.y + c.h); }, 0);
        d.cells.push(Object.assign({ x: 0, y: y, w: 4, h: 4 }, cell));
      }
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
  // The keyboard does the same: a focused cell moves with the arrow keys and grows or shrinks
  // with Shift and the arrow keys; the new place is saved once the keys rest.
  function keyMove(cell, ev) {
    if (ev.target !== cell) return;
    var d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
    if (!d) return;
    ev.preventDefault();
    var at = { x: +cell.dataset.x, y: +cell.dataset.y, w: +cell.dataset.w, h: +cell.dataset.h };
    if (ev.shiftKey) {
      at.w = Math.max(1, Math.min(12 - at.x, at.w + d[0]));
      at.h = Math.max(1, at.h + d[1]);
    } else {
      at.x = Math.max(0, Math.min(12 - at.w, at.x + d[0]));
      at.y = Math.max(0, at.y + d[1]);
    }
    Object.keys(at).forEach(function (k) { cell.dataset[k] = at[k]; });
    cell.style.gridColumn = (at.x + 1) + " / span " + at.w;
    cell.style.gridRow = (at.y + 1) + " / span " + at.h;
    clearTimeout(cell.saveTimer);
    cell.saveTimer = setTimeout(function () {
      sessionStorage.setItem("tick.focus", cell.dataset.i);
      update(function (dash) { dash.cells.forEach(function (c) { if (c.i === cell.dataset.i) Object.assign(c, at); }); });
    }, 800);
  }
  document.querySelectorAll("#grid .cell").forEach(function (cell) {
    cell.querySelector(".drag-handle").addEventListener("pointerdown", function (ev) { gridDrag(cell, ev, false); });
    cell.querySelector(".resize-handle").addEventListener("pointerdown", function (ev) { gridDrag(cell, ev, true); });
    cell.addEventListener("keydown", function (ev) { keyMove(cell, ev); });
    // The cell moved by the keyboard keeps the focus across the reload that saved it.
    if (sessionStorage.getItem("tick.focus") === cell.dataset.i) {
      sessionStorage.removeItem("tick.focus");
      cell.focus();
    }
  });
})();
