// The overview tiles above the live table, kept current: refetched (a small HTML fragment,
// no inline script) a moment after the live stream brings a row (static/js/live.js sends a
// "live:row" event), and once a minute for the clicks, which the stream does not carry.
(function () {
  "use strict";

  var tiles = document.querySelector("[data-live-tiles]");
  if (!tiles || !window.fetch) return;
  var url = tiles.getAttribute("data-tiles-url");
  var pending = null;

  function refresh() {
    pending = null;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.querySelector("[data-live-tiles]");
        if (fresh) tiles.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* the next row or minute tries again */ });
  }

  function soon() {
    if (pending === null) pending = setTimeout(refresh, 1000);
  }

  document.addEventListener("live:row", soon);
  setInterval(refresh, 60000);
})();
