// Sources page: add, edit (the password is kept when left empty) and delete the sources added
// here through /chronograf/v1/sources; the configured ones are listed only.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  function send(method, path, body) {
    return fetch(path, {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      if (r.ok) return;
      return r.json().then(function (e) { throw new Error(e.message || r.statusText); });
    });
  }
  function fail(e) { $("source-error").textContent = e.message; }
  $("source-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("source-id").value;
    var body = {
      name: $("source-name").value, url: $("source-url").value, username: $("source-username").value,
      password: $("source-password").value, telegraf: $("source-telegraf").value,
    };
    var done = id ? send("PATCH", "/chronograf/v1/sources/" + id, body) : send("POST", "/chronograf/v1/sources", body);
    done.then(function () { location.reload(); }, fail);
  });
  document.querySelectorAll(".edit-source").forEach(function (b) {
    b.addEventListener("click", function () {
      $("source-id").value = b.dataset.id;
      ["name", "url", "username", "telegraf"].forEach(function (k) { $("source-" + k).value = b.dataset[k]; });
      $("source-password").value = "";
      $("source-form-title").textContent = "Edit " + b.dataset.name;
    });
  });
  document.querySelectorAll(".delete-source").forEach(function (b) {
    b.addEventListener("click", function () {
      tickConfirm("Delete this source?", function () { send("DELETE", "/chronograf/v1/sources/" + b.dataset.id).then(function () { location.reload(); }, fail); });
    });
  });
})();
