// Alert rules: save a threshold, relative or deadman rule (the form shows the fields of the
// chosen kind), enable/disable and delete rules through chronograf-rs, which drives
// kapacitor-rs's task API.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var base = "/chronograf/v1/sources/" + window.tickSource + "/kapacitors/1/rules";
  function send(method, path, body) {
    return fetch(path, { method: method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) })
      .then(function (r) { return r.text().then(function (t) { if (!r.ok) throw new Error((t && JSON.parse(t).message) || r.statusText); }); });
  }
  function showFields() {
    var t = $("rule-trigger").value;
    document.querySelectorAll(".relative-only").forEach(function (e) { e.hidden = t !== "relative"; });
    document.querySelectorAll(".deadman-only").forEach(function (e) { e.hidden = t !== "deadman"; });
    document.querySelectorAll(".not-deadman").forEach(function (e) { e.hidden = t === "deadman"; });
  }
  $("rule-trigger").addEventListener("change", showFields);
  showFields();

  // Live preview: the field's mean over the last hour, and the threshold as a line.
  function quote(name) { return '"' + name.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'; }
  var previewTimer = null;
  function preview() {
    var m = $("rule-measurement").value, f = $("rule-field").value, chart = $("rule-preview");
    if (!m || !f || $("rule-trigger").value === "deadman") { $("rule-preview-cell").hidden = true; return; }
    $("rule-preview-cell").hidden = false;
    chart.dataset.db = $("rule-db").value;
    chart.dataset.threshold = $("rule-trigger").value === "threshold" ? $("rule-value").value : "";
    chart.dataset.queries = JSON.stringify(["SELECT mean(" + quote(f) + ") AS " + quote(f) + " FROM " + quote(m) +
      " WHERE time > now() - 1h GROUP BY time(1m)"]);
    window.tickDraw(chart);
  }
  ["rule-db", "rule-measurement", "rule-field", "rule-value", "rule-trigger"].forEach(function (id) {
    $(id).addEventListener("input", function () { clearTimeout(previewTimer); previewTimer = setTimeout(preview, 400); });
  });
  function list(v) { return v.split(",").map(function (s) { return s.trim(); }).filter(Boolean); }
  $("new-rule").addEventListener("submit", function (ev) {
    ev.preventDefault();
    send("POST", base, {
      trigger: $("rule-trigger").value, change: $("rule-change").value, shift: $("rule-shift").value,
      period: $("rule-period").value,
      name: $("rule-name").value, db: $("rule-db").value, measurement: $("rule-measurement").value,
      field: $("rule-field").value, operator: $("rule-operator").value, value: Number($("rule-value").value),
      group_by: list($("rule-groupby").value), message: $("rule-message").value,
      email: list($("rule-email").value), post: $("rule-post").value, log: $("rule-log").value,
    }).then(function () { location.reload(); }, function (e) { $("rule-error").textContent = e.message; });
  });
  document.querySelectorAll(".toggle").forEach(function (box) {
    box.addEventListener("change", function () {
      send("PATCH", base + "/" + box.dataset.id, { status: box.checked ? "enabled" : "disabled" })
        .then(function () { location.reload(); }, function (e) { $("rule-error").textContent = e.message; });
    });
  });
  document.querySelectorAll(".delete-rule").forEach(function (b) {
    b.addEventListener("click", function () {
      tickConfirm("Delete rule " + b.dataset.id + "?", function () { send("DELETE", base + "/" + b.dataset.id).then(function () { location.reload(); }); });
    });
  });
})();
