// Counts down every .recording-countdown[data-deadline] once a minute: the server rendered the
// first value, this keeps an open page honest. The wording comes from the page
// (#recording-countdown-units, the same translated formats the server uses).
(function () {
  "use strict";
  var source = document.getElementById("recording-countdown-units");
  if (!source) { return; }
  var units = JSON.parse(source.textContent);
  function fill(format, values) {
    return format.replace(/%\((\w+)\)d/g, function (_, name) { return String(values[name]); });
  }
  function label(ms) {
    if (ms <= 0) { return units.overdue; }
    var minutes = Math.floor(ms / 60000), days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    if (days) { return fill(units.days, {days: days, hours: hours}); }
    if (hours) { return fill(units.hours, {hours: hours, minutes: minutes % 60}); }
    return fill(units.minutes, {minutes: Math.max(1, minutes)});
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".recording-countdown[data-deadline]").forEach(function (el) {
      el.textContent = label(Date.parse(el.getAttribute("data-deadline")) - now);
    });
  }
  setInterval(tick, 60000);
})();
