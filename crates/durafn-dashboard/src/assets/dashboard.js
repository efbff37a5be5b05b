// The dashboard's progressive enhancement (htmx does live refresh and progress polling):
// JSON fields are checked as you type and before a form is sent, and forms that change
// something without a confirmation page of their own ask first. Every page works without it.
(function () {
  "use strict";

  function checkJson(field) {
    var out = document.getElementById(field.getAttribute("aria-describedby"));
    var text = field.value.trim();
    var message = "";
    if (text !== "") {
      try {
        JSON.parse(text);
      } catch (e) {
        message = "Not valid JSON: " + e.message;
      }
    }
    field.setAttribute("aria-invalid", message ? "true" : "false");
    if (out) {
      out.textContent = message;
      out.hidden = !message;
    }
    return !message;
  }

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-json]")) {
      checkJson(e.target);
    }
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var fields = form.querySelectorAll("textarea[data-json]");
    for (var i = 0; i < fields.length; i++) {
      if (!checkJson(fields[i])) {
        e.preventDefault();
        fields[i].focus();
        return;
      }
    }
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
    }
  });
})();
