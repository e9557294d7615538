// The colour mode, set before the page is drawn: dark unless the user picked light with the
// side bar's button (kept in localStorage).
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("tick.theme"); } catch (e) { saved = null; }
  root.setAttribute("data-theme", saved === "light" ? "light" : "dark");

  function show(mode) {
    root.setAttribute("data-theme", mode);
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.textContent = mode === "dark" ? "Light mode" : "Dark mode";
    button.setAttribute("aria-pressed", mode === "light" ? "true" : "false");
  }

  document.addEventListener("DOMContentLoaded", function () {
    show(root.getAttribute("data-theme"));
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
      try { localStorage.setItem("tick.theme", next); } catch (e) { /* private mode: this page only */ }
      show(next);
    });
  });
})();
