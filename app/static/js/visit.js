/* The visit form (issue 24), progressive enhancement: without this script every domain shows
   its details and "what was done on the spot" stays visible; the server decides the same way.
   - a domain's urgent switch, outcome and note show once the domain is ticked;
   - "what was done on the spot" shows only when something is answered on the spot (or no
     domain is ticked: a simple question);
   - a need "to orient" turns the main button into "Enregistrer et orienter" (the server then
     opens the orientation form) and hides "save and print" (the slip follows the orientation). */
(function () {
  var form = document.querySelector("[data-visit-form]");
  if (!form) return;
  var needs = Array.prototype.slice.call(form.querySelectorAll("[data-need]"));
  var actions = form.querySelector("[data-answered-actions]");
  var submit = form.querySelector("[data-orient-label]");
  var savePrint = form.querySelector("[data-save-print]");
  var saveLabel = submit ? submit.textContent : "";

  function outcomeOf(need) {
    var checked = need.querySelector("[data-need-outcome]:checked");
    return checked ? checked.value : null;
  }

  function refresh() {
    var ticked = 0, answered = false, toOrient = false;
    needs.forEach(function (need) {
      var on = need.querySelector("[data-need-toggle]").checked;
      // A detail the server refused stays in view, ticked or not.
      need.querySelector("[data-need-details]").hidden =
        !on && !need.querySelector(".error-message");
      need.classList.toggle("need-on", on);
      if (!on) return;
      ticked += 1;
      var outcome = outcomeOf(need);
      if (outcome === "answered") answered = true;
      if (outcome === "to_orient") toOrient = true;
    });
    if (actions) actions.hidden = ticked > 0 && !answered;
    if (submit) submit.textContent = toOrient ? submit.getAttribute("data-orient-label") : saveLabel;
    if (savePrint) savePrint.hidden = toOrient;
  }

  form.addEventListener("change", refresh);
  refresh();
})();
