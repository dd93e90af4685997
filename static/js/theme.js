// Follow the system's light or dark preference with Bootstrap 5.3's data-bs-theme. Loaded
// without defer in <head>, so the page is never drawn in the wrong theme first.
(function () {
  var query = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    document.documentElement.setAttribute("data-bs-theme", query.matches ? "dark" : "light");
  }
  apply();
  query.addEventListener("change", apply);
})();
