// Admin: create and drop databases and retention policies through /chronograf/v1/sources/1/dbs.
(function () {
  "use strict";
  var base = "/chronograf/v1/sources/1/dbs", err = document.getElementById("admin-error");
  function send(method, path, body) {
    return fetch(path, { method: method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) })
      .then(function (r) { return r.text().then(function (t) { if (!r.ok) throw new Error((t && JSON.parse(t).message) || r.statusText); }); })
      .then(function () { location.reload(); }, function (e) { err.textContent = e.message; });
  }
  document.getElementById("create-db").addEventListener("submit", function (ev) {
    ev.preventDefault();
    send("POST", base, { name: document.getElementById("db-name").value });
  });
  document.querySelectorAll(".drop-db").forEach(function (b) {
    b.addEventListener("click", function () { if (confirm("Drop database " + b.dataset.db + " and all its data?")) send("DELETE", base + "/" + encodeURIComponent(b.dataset.db)); });
  });
  document.querySelectorAll(".drop-rp").forEach(function (b) {
    b.addEventListener("click", function () { if (confirm("Drop " + b.dataset.rp + "?")) send("DELETE", base + "/" + encodeURIComponent(b.dataset.db) + "/rps/" + encodeURIComponent(b.dataset.rp)); });
  });
  document.querySelectorAll(".add-rp").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      send("POST", base + "/" + encodeURIComponent(f.dataset.db) + "/rps",
        { name: f.name.value, duration: f.duration.value, replication: 1, isDefault: f.default.checked });
    });
  });
})();
