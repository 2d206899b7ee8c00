// Photo comparison: the later photo laid over the baseline, uncovered from the left by a range
// input, and a button that flips between the two. Without JavaScript the page shows the two
// photos side by side; nothing here is needed to read it.
(function () {
  "use strict";
  var slider = document.querySelector("[data-photo-slider]");
  if (!slider) {
    return;
  }
  var top = slider.querySelector("[data-slider-top]");
  var range = slider.querySelector("[data-slider-range]");
  var toggle = slider.querySelector("[data-slider-toggle]");

  function show(percent) {
    // clip-path set through the CSSOM: allowed under a CSP without 'unsafe-inline'.
    top.style.clipPath = "inset(0 " + (100 - percent) + "% 0 0)";
    range.value = String(percent);
  }

  range.addEventListener("input", function () {
    show(Number(range.value));
  });
  toggle.addEventListener("click", function () {
    var later = Number(range.value) < 100;
    show(later ? 100 : 0);
    toggle.setAttribute("aria-pressed", later ? "true" : "false");
  });
  slider.classList.remove("d-none");
  show(Number(range.value));
})();
