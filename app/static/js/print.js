/* Print buttons: the page's Content-Security-Policy allows no inline script, so a button marked
   data-print is wired here. It is hidden until this script runs (no script: the hint stays). */
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
document.querySelectorAll("[data-print-hint]").forEach(function (hint) { hint.hidden = true; });
/* "Send and print" (issue 24): the page asked to print opens the dialog once, on arrival. */
if (document.querySelector("[data-print][data-autoprint]")) {
  window.addEventListener("load", function () { window.print(); }, { once: true });
}
