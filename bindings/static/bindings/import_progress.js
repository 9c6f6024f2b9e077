// Polls an X-number import: the validation's progress, then its preview (refused rows and the
// Confirm button), or the import's progress, then the link to the numbers.
(function () {
  "use strict";
  const root = document.querySelector(".import-progress");
  if (!root) return;
  const url = root.dataset.progressUrl;
  const columns = ["row", "number", "city_code", "application", "message"];

  function show(name, visible) {
    const node = root.querySelector('[data-when="' + name + '"]');
    if (node) node.hidden = !visible;
  }

  function render(data) {
    root.querySelectorAll("[data-field]").forEach(function (node) {
      node.textContent = data[node.dataset.field];
    });
    root.querySelector('[data-field="error"]').hidden = !data.error;
    const bar = document.getElementById("import-bar");
    bar.max = data.total;
    bar.value = data.processed;
    show("confirm", data.can_confirm);
    show("nothing", data.state === "previewed" && data.new === 0);
    show("done", data.state === "done");
    show("imported", data.state === "importing" || data.state === "done");
    if (data.finished) {
      const body = root.querySelector(".import-errors tbody");
      body.replaceChildren.apply(body, data.errors.map(function (error) {
        const row = document.createElement("tr");
        columns.forEach(function (column) {
          const cell = document.createElement("td");
          cell.textContent = error[column];
          row.appendChild(cell);
        });
        return row;
      }));
      show("refused", data.errors.length > 0);
    }
  }

  window.pollProgress(url, render, function (data) { return !data.finished; }, 500);
})();
