// Small behaviours that cannot be inline (the CSP forbids inline script).
document.addEventListener("htmx:responseError", function (event) {
  // A swap target that got no partial (network failure) still shows something.
  if (!event.detail.xhr.responseText) {
    event.detail.target.innerHTML =
      '<div class="alert alert-danger">The server did not answer. Try again.</div>';
  }
});
