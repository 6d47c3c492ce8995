// The live Scheduling Requests table: rows arrive over Server-Sent Events and are upserted
// by Scheduling Request id. No inline script anywhere (strict CSP), so this file reads what
// it needs from data attributes the page renders:
//   <table data-live-table data-stream-url="/live/stream?..." data-cursor="N" data-first-page="1">
(function () {
  "use strict";

  var table = document.querySelector("table[data-live-table]");
  if (!table) return;
  var tbody = table.tBodies[0];
  var wrap = document.querySelector("[data-live-table-wrap]");
  var indicator = document.querySelector(".live-indicator");
  var firstPage = table.getAttribute("data-first-page") === "1";
  var streamUrl = table.getAttribute("data-stream-url");
  var cursor = table.getAttribute("data-cursor") || "0";
  var source = null;
  var retryDelay = 2000;

  function setState(state) {
    if (!indicator) return;
    indicator.hidden = false;
    indicator.setAttribute("data-state", state);
    indicator.textContent = state === "live" ? "Live"
      : state === "reconnecting" ? "Reconnecting…"
      : state === "unavailable" ? "Live updates unavailable: reload to refresh"
      : "Connecting…";
  }

  function findRow(id) {
    for (var i = 0; i < tbody.rows.length; i++) {
      if (tbody.rows[i].getAttribute("data-srq") === id) return tbody.rows[i];
    }
    return null;
  }

  function showTable() {
    if (wrap) wrap.hidden = false;
    var empties = document.querySelectorAll("[data-live-empty]");
    for (var i = 0; i < empties.length; i++) empties[i].hidden = true;
  }

  function parseRow(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var row = template.content.firstElementChild;
    return row && row.tagName === "TR" ? row : null;
  }

  function onRow(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    var existing = findRow(String(data.id));
    if (!data.matches) {
      if (existing) existing.parentNode.removeChild(existing);
      return;
    }
    var row = parseRow(data.html);
    if (!row) return;
    if (existing && existing.getAttribute("data-version") === row.getAttribute("data-version")) {
      return; // sent again after a reconnect: nothing changed
    }
    if (firstPage) {
      if (existing) existing.parentNode.removeChild(existing);
      tbody.insertBefore(row, tbody.firstChild); // newest activity first
    } else if (existing) {
      existing.parentNode.replaceChild(row, existing); // later pages: update in place only
    } else {
      return;
    }
    refreshTimes(row);
    row.classList.add("just-changed");
    showTable();
  }

  function remember(event) {
    if (event.lastEventId) cursor = event.lastEventId;
  }

  function withCursor(url, value) {
    return url + (url.indexOf("?") < 0 ? "?" : "&") + "cursor=" + encodeURIComponent(value);
  }

  function connect() {
    if (!window.EventSource) { setState("unavailable"); return; }
    source = new EventSource(withCursor(streamUrl, cursor));
    source.addEventListener("open", function () { retryDelay = 2000; setState("live"); });
    source.addEventListener("row", function (event) { remember(event); onRow(event); });
    source.addEventListener("cursor", remember);
    source.addEventListener("error", function () {
      setState("reconnecting");
      // The browser reconnects by itself (sending Last-Event-ID) unless the answer was not
      // an event stream (e.g. signed out); then start again from the last cursor we saw.
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }

  // Relative times ("5 minutes ago") kept fresh; the exact time stays in the title.
  function relative(iso) {
    var seconds = Math.floor((Date.now() - Date.parse(iso)) / 1000);
    if (isNaN(seconds)) return null;
    if (seconds < 10) return "just now";
    var units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) {
        var count = Math.floor(seconds / units[i][1]);
        return count + " " + units[i][0] + (count !== 1 ? "s" : "") + " ago";
      }
    }
    return seconds + " seconds ago";
  }

  function refreshTimes(root) {
    var times = (root || document).querySelectorAll("time[data-relative]");
    for (var i = 0; i < times.length; i++) {
      var text = relative(times[i].getAttribute("datetime"));
      if (text) times[i].textContent = text;
    }
  }

  setInterval(refreshTimes, 30000);
  window.addEventListener("pagehide", function () { if (source) { source.close(); source = null; } });
  window.addEventListener("pageshow", function (event) { if (event.persisted && !source) connect(); });
  setState("connecting");
  connect();
})();
