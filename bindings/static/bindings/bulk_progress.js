// Polls the bulk upload's progress and updates the page until the upload is finished.
(function () {
  "use strict";
  const root = document.querySelector(".bulk-progress");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const rowLabel = root.dataset.rowLabel || "Row #";  // translated, "#" stands for the number

  function render(data) {
    root.querySelectorAll("[data-field]").forEach(function (node) {
      node.textContent = data[node.dataset.field];
    });
    root.querySelectorAll("[data-status]").forEach(function (node) {
      node.textContent = data.bindings[node.dataset.status] || 0;
    });
    const bar = document.getElementById("bulk-bar");
    bar.max = data.total;
    bar.value = data.processed;
    const list = document.getElementById("bulk-errors");
    list.replaceChildren.apply(list, data.errors.map(function (error) {
      const item = document.createElement("li");
      item.textContent = rowLabel.replace("#", error.row) + ": " + error.message;
      return item;
    }));
  }

  // Keep polling while rows are processed or created bindings still wait for the platform.
  window.pollProgress(url, render, function (data) {
    return !data.finished || data.bindings.pending > 0;
  });
})();
