/* The orientation form (issue 24), progressive enhancement: "why this structure" shows only
   when the chosen structure does not cover the need's domain. Without this script the field
   stays visible; the server asks for it in that case either way. */
(function () {
  var form = document.querySelector("[data-orientation-form]");
  var box = form && form.querySelector("[data-coverage]");
  if (!box) return;
  var covers = JSON.parse(box.getAttribute("data-covers") || "{}");
  var domain = form.querySelector("#domain");
  var structure = form.querySelector("#structure_id");
  var text = box.querySelector("textarea");

  function refresh() {
    var chosen = structure.value;
    var domains = (covers[chosen] || "").split(" ");
    var outside = chosen !== "" && domain.value !== "" && domains.indexOf(domain.value) < 0;
    // A refusal or a reason already written keeps the field in view.
    box.hidden = !outside && !box.querySelector(".error-message") && !(text && text.value.trim());
  }

  domain.addEventListener("change", refresh);
  structure.addEventListener("change", refresh);
  refresh();
})();
