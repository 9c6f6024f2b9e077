// Polls a bill reconciliation while a worker reads and compares the file; once it is finished,
// the page is loaded again to show the differences.
(function () {
  "use strict";
  const root = document.querySelector(".reconcile-progress");
  if (!root || root.dataset.finished === "1") return;
  window.pollProgress(root.dataset.progressUrl, function (data) {
    root.querySelectorAll("[data-field]").forEach(function (node) {
      if (data[node.dataset.field] !== undefined) node.textContent = data[node.dataset.field];
    });
    root.querySelector('[data-field="error"]').hidden = !data.error;
    if (data.finished) window.location.reload();
  }, function (data) { return !data.finished; }, 1000);
})();
