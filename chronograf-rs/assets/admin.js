// Admin: databases and retention policies (/chronograf/v1/sources/1/dbs), users with their
// grants (/chronograf/v1/sources/1/users), and the store's running queries, refreshed every
// two seconds, each with a Kill button (/chronograf/v1/sources/1/queries).
(function () {
  "use strict";
  var base = "/chronograf/v1/sources/" + window.tickSource + "/dbs", err = document.getElementById("admin-error");
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
    b.addEventListener("click", function () { tickConfirm("Drop database " + b.dataset.db + " and all its data?", function () { send("DELETE", base + "/" + encodeURIComponent(b.dataset.db)); }); });
  });
  function rpPath(b) { return base + "/" + encodeURIComponent(b.dataset.db) + "/rps/" + encodeURIComponent(b.dataset.rp); }
  document.querySelectorAll(".alter-rp").forEach(function (b) {
    b.addEventListener("click", function () {
      var d = prompt("New duration of " + b.dataset.rp + " (7d, 24h, INF)", b.dataset.duration);
      if (d) send("PATCH", rpPath(b), { duration: d });
    });
  });
  document.querySelectorAll(".default-rp").forEach(function (b) {
    b.addEventListener("click", function () { send("PATCH", rpPath(b), { isDefault: true }); });
  });
  document.querySelectorAll(".drop-rp").forEach(function (b) {
    b.addEventListener("click", function () { tickConfirm("Drop " + b.dataset.rp + "?", function () { send("DELETE", base + "/" + encodeURIComponent(b.dataset.db) + "/rps/" + encodeURIComponent(b.dataset.rp)); }); });
  });
  var users = "/chronograf/v1/sources/" + window.tickSource + "/users";
  function change(body) { send("POST", users, body); }
  document.getElementById("create-user").addEventListener("submit", function (ev) {
    ev.preventDefault();
    change({ action: "create", name: document.getElementById("user-name").value,
      password: document.getElementById("user-password").value, admin: document.getElementById("user-admin").checked });
  });
  document.querySelectorAll(".drop-user").forEach(function (b) {
    b.addEventListener("click", function () { tickConfirm("Drop user " + b.dataset.user + "?", function () { change({ action: "drop", name: b.dataset.user }); }); });
  });
  document.querySelectorAll(".grant-admin, .revoke-admin").forEach(function (b) {
    b.addEventListener("click", function () {
      change({ action: b.classList.contains("grant-admin") ? "grant" : "revoke", name: b.dataset.user, database: "", privilege: "ALL" });
    });
  });
  document.querySelectorAll(".revoke").forEach(function (b) {
    b.addEventListener("click", function () { change({ action: "revoke", name: b.dataset.user, database: b.dataset.db, privilege: b.dataset.privilege }); });
  });
  document.querySelectorAll(".grant-form").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      change({ action: "grant", name: f.dataset.user, database: f.database.value, privilege: f.privilege.value });
    });
  });
  document.querySelectorAll(".password-form").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      change({ action: "set-password", name: f.dataset.user, password: f.password.value });
    });
  });
  var queries = document.querySelector("#queries tbody");
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
  function showQueries() {
    fetch("/chronograf/v1/sources/" + window.tickSource + "/queries").then(function (r) { return r.json(); }).then(function (d) {
      queries.textContent = "";
      (d.queries || []).forEach(function (q) {
        var row = document.createElement("tr");
        [q.id, q.database, q.query, q.duration, q.status].forEach(function (v) { cell(row, String(v)); });
        var kill = document.createElement("button");
        kill.type = "button"; kill.textContent = "Kill";
        kill.className = "btn btn-sm btn-outline-danger";
        kill.addEventListener("click", function () {
          fetch("/chronograf/v1/sources/" + window.tickSource + "/queries/" + q.id, { method: "DELETE" }).then(showQueries);
        });
        cell(row, "").appendChild(kill);
        queries.appendChild(row);
      });
    }, function (e) { err.textContent = e.message; });
  }
  showQueries();
  setInterval(showQueries, 2000);
  document.querySelectorAll(".add-rp").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      send("POST", base + "/" + encodeURIComponent(f.dataset.db) + "/rps",
        { name: f.name.value, duration: f.duration.value, replication: 1, isDefault: f.default.checked });
    });
  });
})();
