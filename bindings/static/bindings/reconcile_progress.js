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

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        render(data);
        if (!data.finished) window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
