// A <select data-autosubmit> submits its form when it changes (the language menu, the dashboard's
// application). No inline onchange=: the Content-Security-Policy allows scripts from files only.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && "autosubmit" in field.dataset && field.form) {
    field.form.submit();
  }
});
