// Mobile Plans console: the overview's filter (kept across htmx's 15-second refreshes).
// No inline script anywhere: the Content-Security-Policy allows this origin's files only.
(function () {
  "use strict";
  function applyFilter() {
    var input = document.getElementById("filter");
    if (!input) return;
    var words = input.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
    document.querySelectorAll("[data-filter]").forEach(function (card) {
      var text = card.getAttribute("data-filter").toLowerCase();
      var shown = words.every(function (w) { return text.indexOf(w) !== -1; });
      card.classList.toggle("hidden", !shown);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var input = document.getElementById("filter");
    if (input) input.addEventListener("input", applyFilter);
  });
  document.addEventListener("htmx:afterSwap", applyFilter);
})();
