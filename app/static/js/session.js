/* Every signed-in page (issue 24, items 10 and 14). The Content-Security-Policy allows no inline
   script: this file wires the header's menu button and the idle-timeout warning.

   1. The menu button: under 1024 px, where the header would take more than one line (a tablet,
      a phone, a 400 % zoom), the navigation and the account's links fold behind "Menu". Without this
      script the button stays hidden and everything is shown.
   2. The idle warning (WCAG 2.2.1): two minutes before the session's idle timeout (half of it
      when it is shorter), a dialog says when the session ends and offers "Rester connecté",
      which pings /session/keepalive. The last activity is shared between the tabs. */
(function () {
  "use strict";

  /* -- 1. the header's menu button ------------------------------------------------------ */
  var header = document.querySelector(".site-header");
  var toggle = header && header.querySelector(".menu-toggle");
  var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));

  function setOpen(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }

  function wraps() {
    /* One line: every item of the header starts on the brand's line. */
    var top = header.querySelector(".brand").getBoundingClientRect().top;
    var items = menu.querySelectorAll(".main-nav li, .header-tools > *");
    for (var i = 0; i < items.length; i += 1) {
      var box = items[i].getBoundingClientRect();
      if (box.height && Math.abs(box.top - top) > box.height / 2 + 8) { return true; }
    }
    return false;
  }

  /* A desk's screen keeps its menu in sight, even on two lines; a tablet (or a zoomed page)
     folds it rather than spend three lines on it. */
  var narrow = window.matchMedia("(max-width: 63.99em)");

  function fold() {
    var open = toggle.getAttribute("aria-expanded") === "true";
    header.classList.remove("has-menu");
    var folds = narrow.matches && wraps();
    header.classList.toggle("has-menu", folds);
    if (!folds) { setOpen(false); } else { setOpen(open); }
  }

  if (toggle && menu) {
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("has-menu")) {
        setOpen(false);
        toggle.focus();
      }
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.cancelAnimationFrame(pending);
      pending = window.requestAnimationFrame(fold);
    });
    fold();
  }

  /* -- 2. the idle-timeout warning ------------------------------------------------------ */
  var body = document.body;
  var dialog = document.getElementById("idle-warning");
  var idle = Number(body.getAttribute("data-idle-seconds"));
  if (!dialog || !idle || typeof dialog.showModal !== "function") { return; }
  var KEY = "passerelle.lastActivity";
  var lead = Math.min(120, idle / 2) * 1000;
  var stay = dialog.querySelector("[data-idle-stay]");
  var relogin = dialog.querySelector("[data-idle-login]");
  var expired = false;
  var before = null;

  function shared() {
    try { return Number(window.localStorage.getItem(KEY)) || 0; } catch (e) { return 0; }
  }
  function touch(at) {
    lastActivity = at;
    try { window.localStorage.setItem(KEY, String(at)); } catch (e) { /* private mode */ }
  }
  var lastActivity = 0;
  touch(Date.now());  /* this page's request refreshed the session */

  function clock(at) {
    var d = new Date(at);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function warn(endsAt) {
    dialog.querySelector("[data-idle-end]").textContent = clock(endsAt);
    if (!dialog.open) {
      before = document.activeElement;
      dialog.showModal();
      stay.focus();
    }
  }

  function close() {
    if (dialog.open) { dialog.close(); }
    if (before && typeof before.focus === "function") { before.focus(); }
    before = null;
  }

  function end() {
    expired = true;
    ["[data-idle-title]", "[data-idle-text]"].forEach(function (selector) {
      var node = dialog.querySelector(selector);
      node.textContent = node.getAttribute("data-expired");
    });
    stay.hidden = true;
    relogin.hidden = false;
    if (!dialog.open) { dialog.showModal(); }
    relogin.focus();
  }

  function check() {
    if (expired) { return; }
    var last = Math.max(lastActivity, shared());
    lastActivity = last;
    var endsAt = last + idle * 1000;
    var left = endsAt - Date.now();
    if (left <= 0) { end(); } else if (left <= lead) { warn(endsAt); } else if (dialog.open) { close(); }
  }

  function keepAlive() {
    var token = body.getAttribute("data-csrf-token");
    window.fetch(body.getAttribute("data-keepalive-url"), {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": token }
    }).then(function (answer) {
      if (answer.status === 204) { touch(Date.now()); close(); } else { end(); }
    }).catch(function () { end(); });
  }

  stay.addEventListener("click", keepAlive);
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();  /* Escape: the user is there, as with "Rester connecté" */
    if (!expired) { keepAlive(); }
  });
  window.setInterval(check, 1000);
}());
