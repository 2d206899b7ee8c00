// Mesotrack's own behaviour, loaded from a static file: the Content-Security-Policy allows no
// inline script or event-handler attributes.
(function () {
  "use strict";

  // Print buttons (ingredient sheet, recovery codes).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", function () { window.print(); });
  }

  // Booking form: ask for free slots with what is chosen in the form now, not when the page
  // loaded.
  const suggest = document.getElementById("suggest-form");
  if (suggest) {
    suggest.addEventListener("submit", function () {
      for (const name of ["patient", "plan", "clinician", "room"]) {
        const field = document.getElementById("id_" + name);
        if (field && suggest.elements[name]) { suggest.elements[name].value = field.value; }
      }
      const day = document.getElementById("id_date");
      if (day && day.value) {
        const input = document.createElement("input");
        input.type = "hidden"; input.name = "date"; input.value = day.value;
        suggest.appendChild(input);
      }
    });
  }

  // Idle timeout: warn two minutes before the server logs this session out, offer to stay,
  // and show the login page once the time is up.
  const warning = document.getElementById("idle-warning");
  const timeout = warning ? Number(warning.dataset.timeoutSeconds) : 0;
  if (warning && timeout > 0) {
    const warnBefore = Math.min(120, timeout / 2);
    let warnTimer, endTimer;
    const schedule = function () {
      clearTimeout(warnTimer); clearTimeout(endTimer);
      warning.hidden = true;
      warnTimer = setTimeout(function () { warning.hidden = false; }, (timeout - warnBefore) * 1000);
      endTimer = setTimeout(function () { window.location.reload(); }, (timeout + 5) * 1000);
    };
    warning.querySelector("form").addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(this.action, {
        method: "POST",
        body: new FormData(this),
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      }).then(function (response) {
        if (response.ok) { schedule(); } else { window.location.reload(); }
      });
    });
    schedule();
  }
})();
