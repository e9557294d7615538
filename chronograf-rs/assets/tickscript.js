// The TICKscript editor: loads a task through chronograf-rs's kapacitor proxy, saves it back
// (POST for a new task, PATCH for an existing one) and shows kapacitor-rs's error — with its
// line and column — under the script and marked in the editor.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var form = $("tickscript"), existing = form.dataset.id;
  var editor = window.tickEditor ? window.tickEditor($("task-script"), "tickscript") : null;
  function fail(e) {
    $("task-error").textContent = e.message;
    if (editor) window.tickMarkError(editor, e.message);
  }
  function proxy(method, path, body) {
    return fetch("/chronograf/v1/sources/" + window.tickSource + "/kapacitors/1/proxy?path=" + encodeURIComponent(path), {
      method: method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || j.message || r.statusText); return j; });
    });
  }
  function dbrps(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
      var i = s.lastIndexOf(".");
      return { db: s.slice(0, i).replace(/"/g, ""), rp: s.slice(i + 1).replace(/"/g, "") };
    });
  }
  if (existing) {
    proxy("GET", "/kapacitor/v1/tasks/" + encodeURIComponent(existing)).then(function (t) {
      $("task-type").value = t.type;
      $("task-dbrps").value = (t.dbrps || []).map(function (d) { return d.db + "." + d.rp; }).join(", ");
      $("task-enabled").checked = t.status === "enabled";
      if (editor) editor.setValue(t.script); else $("task-script").value = t.script;
      $("task-status").textContent = t.executing ? "executing" : (t.error || "not executing");
    }, fail);
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("task-error").textContent = "";
    var body = { type: $("task-type").value, script: $("task-script").value,
      status: $("task-enabled").checked ? "enabled" : "disabled" };
    var d = dbrps($("task-dbrps").value);
    if (d.length) body.dbrps = d;
    var saved = existing
      ? proxy("PATCH", "/kapacitor/v1/tasks/" + encodeURIComponent(existing), body)
      : proxy("POST", "/kapacitor/v1/tasks", Object.assign({ id: $("task-id").value }, body));
    saved.then(function (t) {
      if (!existing) { location.href = "/sources/" + window.tickSource + "/tickscripts/" + encodeURIComponent(t.id); return; }
      $("task-status").textContent = "saved; " + (t.executing ? "executing" : (t.error || "not executing"));
    }, fail);
  });
})();
