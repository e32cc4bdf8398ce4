/* The language switch keeps what was typed (issue 24, item 11). Switching the language posts a
   form and reloads the page: just before, what the page's forms hold is kept in this tab's
   sessionStorage, and put back once the same page comes back, then forgotten at once. Nothing is
   kept of a password, a file, a hidden field (the CSRF token) or a button, nor for another page.
   Without JavaScript the switch works the same and the page comes back empty. */
(function () {
  "use strict";
  var KEY = "passerelle.typed";
  var SKIP = { password: 1, file: 1, hidden: 1, submit: 1, button: 1, reset: 1, image: 1 };

  function pageForms() {
    return Array.prototype.filter.call(document.querySelectorAll("main form"), function (form) {
      return !form.classList.contains("lang-switch");
    });
  }

  function kept(element) {
    return element.name && !SKIP[element.type] && !element.disabled
      && element.autocomplete !== "one-time-code";
  }

  function save() {
    var forms = pageForms().map(function (form) {
      var fields = [];
      Array.prototype.forEach.call(form.elements, function (element) {
        if (!kept(element)) { return; }
        if (element.type === "checkbox" || element.type === "radio") {
          fields.push([element.name, element.value, element.checked]);
        } else if (element.tagName === "SELECT" && element.multiple) {
          fields.push([element.name, Array.prototype.filter.call(element.options, function (o) {
            return o.selected;
          }).map(function (o) { return o.value; }), null]);
        } else {
          fields.push([element.name, element.value, null]);
        }
      });
      return { action: form.getAttribute("action") || "", fields: fields };
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ path: location.pathname, forms: forms }));
    } catch (error) { /* storage refused: the switch goes on without it */ }
  }

  function restore() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (error) { return; }
    if (!saved || saved.path !== location.pathname || !Array.isArray(saved.forms)) { return; }
    var forms = pageForms();
    saved.forms.forEach(function (savedForm, index) {
      var form = forms[index];
      if (!form || (form.getAttribute("action") || "") !== savedForm.action) { return; }
      var taken = {};  // fields sharing a name take the saved values in their order
      savedForm.fields.forEach(function (field) {
        var name = field[0], value = field[1], checked = field[2];
        var elements = Array.prototype.filter.call(form.elements, function (element) {
          return element.name === name && kept(element);
        });
        var element;
        if (checked !== null) {
          element = elements.filter(function (e) { return e.value === value; })[0];
          if (!element || element.checked === checked) { return; }
          element.checked = checked;
        } else {
          var position = taken[name] || 0;
          taken[name] = position + 1;
          element = elements[position];
          if (!element) { return; }
          if (Array.isArray(value)) {
            Array.prototype.forEach.call(element.options, function (o) {
              o.selected = value.indexOf(o.value) !== -1;
            });
          } else if (element.value === value) {
            return;
          } else {
            element.value = value;
          }
        }
        element.dispatchEvent(new Event("input", { bubbles: true }));
        element.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  document.querySelectorAll("form.lang-switch").forEach(function (form) {
    form.addEventListener("submit", save);
  });
  restore();
}());
