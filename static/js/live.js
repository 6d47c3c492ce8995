// The live Scheduling Requests table: rows arrive over Server-Sent Events and are upserted
// by Scheduling Request id. No inline script anywhere (strict CSP), so this file reads what
// it needs from data attributes the page renders:
//   <table data-live-table data-stream-url="/live/stream?..." data-cursor="N" data-first-page="1">
// When the server refuses the stream (429: too many open streams, see
// webapp/live/capacity.py; or signed out, or down), the page says live updates are paused,
// offers a refresh, and tries again slowly, resuming from the last cursor it saw.
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
  var refreshButton = document.querySelector("[data-live-refresh]");
  var source = null;
  var FIRST_RETRY = 15000;
  var LAST_RETRY = 300000;
  var retryDelay = FIRST_RETRY;

  function setState(state) {
    if (refreshButton) refreshButton.hidden = state !== "paused" && state !== "unavailable";
    if (!indicator) return;
    indicator.hidden = false;
    indicator.setAttribute("data-state", state);
    indicator.textContent = state === "live" ? "Live"
      : state === "reconnecting" ? "Reconnecting…"
      : state === "paused" ? "Live updates paused: this table may be out of date"
      : state === "unavailable" ? "Live updates unavailable: refresh to see changes"
      : "Connecting…";
  }

  if (refreshButton) {
    refreshButton.addEventListener("click", function () { window.location.reload(); });
  }

  // A refused stream is tried again slowly (15 s, doubling to 5 minutes, with jitter so that
  // many pages refused together do not come back together).
  function retryLater() {
    var delay = retryDelay * (0.8 + Math.random() * 0.4);
    retryDelay = Math.min(retryDelay * 2, LAST_RETRY);
    setTimeout(function () { if (!source) connect(); }, delay);
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
    // Something changed, shown here or not: e.g. the overview tiles refresh (tiles.js).
    document.dispatchEvent(new CustomEvent("live:row"));
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
    source.addEventListener("open", function () { retryDelay = FIRST_RETRY; setState("live"); });
    source.addEventListener("row", function (event) { remember(event); onRow(event); });
    source.addEventListener("cursor", remember);
    source.addEventListener("error", function () {
      // The browser reconnects by itself (sending Last-Event-ID) after a dropped stream. It
      // gives up when the answer is not an event stream: refused (429), signed out, server
      // down. Then say so, and start again later from the last cursor we saw.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        source = null;
        setState("paused");
        retryLater();
      } else {
        setState("reconnecting");
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
