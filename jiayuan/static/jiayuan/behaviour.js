// Small page behaviours without inline code (the Content-Security-Policy allows no inline
// scripts or event handlers):
//   <form data-confirm="确定…?">     asks before submitting
//   <button data-print>             prints the page
//   <select data-autosubmit>        submits its form when changed
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });
})();
