// Polls a running reconciliation and updates its progress until it is finished.
(function () {
  "use strict";
  const root = document.querySelector(".reconcile-progress");
  if (!root) return;
  const url = root.dataset.progressUrl;

  function render(data) {
    root.querySelectorAll("[data-field]").forEach(function (node) {
      node.textContent = data[node.dataset.field];
    });
    const bar = document.getElementById("reconcile-bar");
    bar.max = data.total;
    bar.value = data.numbers_checked;
    root.querySelector("[data-when-finished]").hidden = !data.finished;
  }

  window.pollProgress(url, render, function (data) { return !data.finished; });
})();
