// The browser's own time zone, offered to a person who has not chosen one, and a shortcut
// on the account page. The server renders the forms hidden; this only fills and shows them
// (no inline script: strict CSP). Without script, or when the browser reports UTC or no
// zone, nothing is shown and times stay in UTC until the person picks a zone themselves.
(function () {
  "use strict";

  var zone = null;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || null; } catch (e) { zone = null; }
  if (!zone || zone === "UTC" || zone === "Etc/UTC" || zone === "Etc/GMT") return;
  var shown = zone.replace(/_/g, " ");

  function each(selector, action) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), action);
  }

  each("[data-tz-name]", function (element) { element.textContent = shown; });
  each("[data-tz-input]", function (input) { input.value = zone; });
  each("[data-tz-accept]", function (button) { button.textContent = "Use " + shown; });
  each("[data-tz-offer], [data-tz-browser-note]", function (element) { element.hidden = false; });

  // The account page: pick the browser's zone in the list (if the list has it).
  var select = document.querySelector("[data-tz-select]");
  var use = document.querySelector("[data-tz-use-browser]");
  if (select && use && select.querySelector("option[value='" + zone.replace(/'/g, "") + "']")) {
    use.hidden = false;
    use.textContent = "Use my browser's time zone (" + shown + ")";
    use.addEventListener("click", function () { select.value = zone; select.focus(); });
  }
})();
