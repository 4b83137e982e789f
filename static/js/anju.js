/* Anju: progressive enhancement only. Every page works without this file.
   - a "Show" button next to each password input (labels come from data-* on <body>,
     so they are translated by the templates);
   - forms with data-confirm="question" ask before they submit;
   - the error summary, when a form comes back with errors, takes the focus. */
(function () {
  "use strict";

  var body = document.body;
  var label = function (name, fallback) {
    return (body && body.getAttribute("data-label-" + name)) || fallback;
  };

  function addPasswordToggles() {
    var inputs = document.querySelectorAll('input[type="password"]');
    Array.prototype.forEach.call(inputs, function (input) {
      if (!input.id || input.getAttribute("data-no-toggle") !== null) { return; }
      var wrap = document.createElement("div");
      wrap.className = "password-wrap";
      input.parentNode.insertBefore(wrap, input);
      wrap.appendChild(input);

      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button-secondary";
      button.textContent = label("show", "Show");
      button.setAttribute("aria-controls", input.id);
      button.addEventListener("click", function () {
        var showing = input.type === "text";
        input.type = showing ? "password" : "text";
        button.textContent = showing ? label("show", "Show") : label("hide", "Hide");
      });
      wrap.appendChild(button);

      // Never let the browser remember a password typed while it was visible.
      if (input.form) {
        input.form.addEventListener("submit", function () { input.type = "password"; });
      }
    });
  }

  function confirmBeforeSubmit() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form && form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
      }
    });
  }

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }

  addPasswordToggles();
  confirmBeforeSubmit();
  focusErrorSummary();
}());
