// Selecting tracked links for the actions above the list (webapp/links/bulk_views.py):
// a "select all on this page" box, the count of selected links, and copying their short
// URLs, one per line. The checkboxes and buttons work without this (the server confirms a
// disable on a page of its own); script only adds what a form cannot do.
(function () {
  "use strict";

  var form = document.querySelector("form[data-selection]");
  if (!form) return;
  var all = document.querySelector("[data-select-all]");
  var count = form.querySelector("[data-selection-count]");
  var copy = form.querySelector("[data-copy-selected]");
  var original = count ? count.textContent : "";

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input[name=ids][form=" + form.id + "]"));
  }

  function chosen() {
    return boxes().filter(function (box) { return box.checked; });
  }

  function update() {
    var selected = chosen().length;
    if (count) count.textContent = selected ? selected + " selected" : original;
    if (all) {
      all.checked = selected > 0 && selected === boxes().length;
      all.indeterminate = selected > 0 && selected < boxes().length;
    }
    if (copy) copy.disabled = selected === 0;
  }

  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[name=ids]")) update();
  });

  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var urls = chosen().map(function (box) {
        var row = box.closest("tr[data-short-url]");
        return row ? row.getAttribute("data-short-url") : "";
      }).filter(Boolean);
      if (!urls.length) return;
      var text = urls.join("\n");
      var done = function () { copy.textContent = "Copied " + urls.length; setTimeout(function () { copy.textContent = "Copy short links"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, done);
      } else {
        var area = document.createElement("textarea");
        area.value = text;
        area.className = "visually-hidden";
        document.body.appendChild(area);
        area.select();
        try { document.execCommand("copy"); } catch (e) { /* nothing more to do */ }
        document.body.removeChild(area);
        done();
      }
    });
  }

  form.addEventListener("submit", function (event) {
    if (!chosen().length) {
      event.preventDefault();
      if (count) count.textContent = "Select at least one link first.";
    }
  });
  update();
})();
