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
  // The form is checked here before anything is sent: each wrong field is marked and says why.
  var DURATION = /^\d+(ns|u|µ|ms|s|m|h|d|w)$/;
  var EMAIL = /^[^@\s,]+@[^@\s,]+$/;
  function checks() {
    var t = $("rule-trigger").value, out = [];
    function need(id, ok, why) { if (!ok) out.push([id, why]); }
    need("rule-name", $("rule-name").value.trim() !== "", "a rule needs a name");
    need("rule-db", $("rule-db").value.trim() !== "", "which database?");
    need("rule-measurement", $("rule-measurement").value.trim() !== "", "which measurement?");
    if (t !== "deadman") need("rule-field", $("rule-field").value.trim() !== "", "which field?");
    need("rule-value", $("rule-value").value.trim() !== "" && isFinite(Number($("rule-value").value)), "a number");
    if (t === "relative") need("rule-shift", DURATION.test($("rule-shift").value.trim()), "a duration such as 1m or 1h");
    if (t === "deadman") need("rule-period", DURATION.test($("rule-period").value.trim()), "a duration such as 5m");
    need("rule-email", list($("rule-email").value).every(function (a) { return EMAIL.test(a); }),
      "addresses such as ops@example.com, comma-separated");
    var post = $("rule-post").value.trim();
    need("rule-post", post === "" || /^https?:\/\/[^\s]+$/.test(post), "an http:// or https:// URL");
    return out;
  }
  function mark(problems) {
    document.querySelectorAll("#new-rule .is-invalid").forEach(function (e) { e.classList.remove("is-invalid"); });
    document.querySelectorAll("#new-rule .invalid-feedback").forEach(function (e) { e.remove(); });
    problems.forEach(function (p) {
      var input = $(p[0]), why = document.createElement("div");
      input.classList.add("is-invalid");
      input.setAttribute("aria-describedby", p[0] + "-why");
      why.className = "invalid-feedback";
      why.id = p[0] + "-why";
      why.textContent = p[1];
      input.insertAdjacentElement("afterend", why);
    });
    if (problems.length) $(problems[0][0]).focus();
  }
  $("new-rule").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var problems = checks();
    mark(problems);
    if (problems.length) return;
    send("POST", base, {
      trigger: $("rule-trigger").value, change: $("rule-change").value, shift: $("rule-shift").value,
      period: $("rule-period").value,
      name: $("rule-name").value, db: $("rule-db").value, measurement: $("rule-measurement").value,
      field: $("rule-field").value, operator: $("rule-operator").value, value: Number($("rule-value").value),
      group_by: list($("rule-groupby").value), message: $("rule-message").value,
      email: list($("rule-email").value), post: $("rule-post").value, log: $("rule-log").value,
    }).then(function () { location.reload(); }, function (e) {
      $("rule-error").textContent = e.message;
      window.tickToast("The rule was not saved: " + e.message, true);
    });
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
