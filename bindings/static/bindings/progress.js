// One polling loop for the progress pages of long operations (bulk bind, reconciliation, import).
// pollProgress(url, render, more): GET url (JSON) now, hand each answer to render(data), and ask
// again after a short while as long as more(data) says so; after an error, ask again later.
window.pollProgress = function (url, render, more, every) {
  "use strict";
  const interval = every || 1000;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        render(data);
        if (more(data)) window.setTimeout(poll, interval);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
};
