// The box in a list's header ticks or unticks the box of every row on the page.
(function () {
  "use strict";
  document.querySelectorAll("input.select-all").forEach(function (box) {
    box.addEventListener("change", function () {
      box.closest("table").querySelectorAll("input.row-select").forEach(function (row) {
        row.checked = box.checked;
      });
    });
  });
})();
