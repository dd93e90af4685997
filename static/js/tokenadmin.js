// Small behaviours that cannot be inline (the CSP forbids inline script).
document.addEventListener("htmx:responseError", function (event) {
  // A swap target that got no partial (network failure) still shows something.
  if (!event.detail.xhr.responseText) {
    event.detail.target.innerHTML =
      '<div class="alert alert-danger">The server did not answer. Try again.</div>';
  }
});

// After an htmx swap (e.g. the lifespans editor's "Review changes"), bring the result the
// admin asked for into view and give it focus: the first element marked data-focus-after-swap.
document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.detail.elt;
  if (!target || !target.querySelector) {
    return;
  }
  var result = target.matches("[data-focus-after-swap]")
    ? target
    : target.querySelector("[data-focus-after-swap]");
  if (result) {
    result.scrollIntoView({ block: "start" });
    result.focus({ preventScroll: true });
  }
});
