// The sandbox's booking pages show times in the invitee's own zone. The server renders
// them in UTC (so the page works without script, and the form posts the UTC keys); this
// rewrites what is shown, in the browser's zone, and says which zone that is.
(function () {
  "use strict";

  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var zoneName = zone.replace(/_/g, " ");
  var day = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", timeZone: zone });
  var dayKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone });
  var clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
  var full = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: zone });

  function at(iso) { var moment = new Date(iso); return isNaN(moment) ? null : moment; }

  // Slot pickers: regroup the offered times under the invitee's own days.
  Array.prototype.forEach.call(document.querySelectorAll("[data-local-slots]"), function (picker) {
    var legend = picker.querySelector("legend[data-zone-legend]");
    var labels = Array.prototype.slice.call(picker.querySelectorAll("label.slot"));
    if (!labels.length) return;
    var groups = [];
    var byKey = {};
    labels.forEach(function (label) {
      var input = label.querySelector("input[name=slot]");
      var start = input && at(input.value);
      var end = at(label.getAttribute("data-end"));
      if (!start || !end) return;
      var key = dayKey.format(start);
      if (!byKey[key]) { byKey[key] = { heading: day.format(start), labels: [] }; groups.push(byKey[key]); }
      byKey[key].labels.push(label);
      var text = label.querySelector("[data-slot-text]");
      if (text) text.textContent = clock.format(start) + "–" + clock.format(end);
    });
    Array.prototype.forEach.call(picker.querySelectorAll("fieldset.slot-day"), function (old) { old.remove(); });
    groups.forEach(function (group) {
      var set = document.createElement("fieldset");
      set.className = "slot-day";
      var title = document.createElement("legend");
      title.textContent = group.heading;
      set.appendChild(title);
      group.labels.forEach(function (label) { set.appendChild(label); });
      picker.appendChild(set);
    });
    if (legend) legend.textContent = legend.getAttribute("data-zone-legend") + " (" + zoneName + ")";
  });

  // A booked time: "Tuesday 3 March 2026, 20:00–20:30 (Asia/Kolkata)".
  Array.prototype.forEach.call(document.querySelectorAll("time[data-local-span]"), function (element) {
    var start = at(element.getAttribute("datetime"));
    var end = at(element.getAttribute("data-local-span"));
    if (!start || !end) return;
    element.setAttribute("title", element.textContent.trim());
    element.textContent = full.format(start) + "–" + clock.format(end) + " (" + zoneName + ")";
  });
})();
