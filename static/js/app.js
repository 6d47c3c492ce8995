// Small progressive enhancements shared by every page (no inline script: strict CSP).
(function () {
  "use strict";

  // ---- Menus: <button data-disclosure aria-controls="id" aria-expanded="false"> ----------
  // The navigation (narrow screens) and the account menu are disclosures: the button
  // toggles its panel, Escape closes it and gives focus back to the button, and the account
  // menu closes when a click or the focus goes elsewhere.
  var OPEN = "is-open";

  function panelOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  function isOpen(button) {
    return button.getAttribute("aria-expanded") === "true";
  }

  function setOpen(button, open, focusPanel) {
    var panel = panelOf(button);
    if (!panel) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle(OPEN, open);
    if (open && focusPanel) {
      var first = panel.querySelector("a[href], button:not([disabled])");
      if (first) first.focus();
    }
  }

  function openButtons() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-disclosure]"), isOpen);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-disclosure]");
    if (button) {
      var opening = !isOpen(button);
      openButtons().forEach(function (other) { if (other !== button) setOpen(other, false); });
      // A mouse click leaves the focus on the button; a keyboard press moves it into the
      // panel (event.detail is 0 for Enter/Space), so the next Tab is the first item.
      setOpen(button, opening, opening && event.detail === 0);
      return;
    }
    openButtons().forEach(function (open) {
      var panel = panelOf(open);
      if (open.getAttribute("data-disclosure") === "menu" && panel && !panel.contains(event.target)) {
        setOpen(open, false);
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openButtons().forEach(function (button) {
      var panel = panelOf(button);
      var inside = panel && panel.contains(document.activeElement);
      setOpen(button, false);
      if (inside || document.activeElement === button) button.focus();
    });
  });

  document.addEventListener("focusin", function (event) {
    openButtons().forEach(function (button) {
      var panel = panelOf(button);
      if (button.getAttribute("data-disclosure") !== "menu" || !panel) return;
      if (event.target !== button && !panel.contains(event.target)) setOpen(button, false);
    });
  });

  // ---- Copy buttons: <button class="copy-button" data-copy="text"> ---------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var label = button.querySelector(".copy-label") || button;
    var done = function () {
      var original = label.textContent;
      label.textContent = "Copied";
      button.setAttribute("data-copied", "1");
      setTimeout(function () { label.textContent = original; button.removeAttribute("data-copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more we can do */ }
    document.body.removeChild(area);
  }

  // ---- Forms ------------------------------------------------------------------------
  // Confirmation before destructive actions: <form data-confirm="Really?">. A form marked
  // data-submit-once disables its buttons once sent (the server ignores a repeat anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute && form.hasAttribute("data-submit-once")) {
      if (form.getAttribute("data-submitted") === "1") { event.preventDefault(); return; }
      form.setAttribute("data-submitted", "1");
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
        b.setAttribute("aria-busy", "true");
      });
    }
  });
  // Back to a page from the history cache: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-submitted]"), function (form) {
      form.removeAttribute("data-submitted");
      Array.prototype.forEach.call(form.querySelectorAll("[aria-busy]"), function (b) {
        b.removeAttribute("aria-busy");
      });
    });
  });
})();
