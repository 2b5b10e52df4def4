// The library tables: sorting by any column (tablesort) and filtering rows by status,
// kind, tag, year range, highlight and text. Works offline; state lives in the page.
(function () {
  function setup(box) {
    var table = box.querySelector("table");
    var form = box.querySelector("form");
    var count = box.querySelector(".pkb-count");
    if (!table || !form || table.dataset.pkbReady) return;
    table.dataset.pkbReady = "1";
    if (typeof Tablesort === "function") new Tablesort(table);
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function value(name) {
      var el = form.elements[name];
      return el ? (el.type === "checkbox" ? el.checked : el.value.trim()) : "";
    }
    function apply() {
      var text = value("text").toLowerCase();
      var status = value("status"), kind = value("kind"), tag = value("tag");
      var lo = parseInt(value("year_min"), 10), hi = parseInt(value("year_max"), 10);
      var star = value("highlight");
      var shown = 0;
      rows.forEach(function (row) {
        var d = row.dataset, year = parseInt(d.year, 10);
        var ok = (!status || d.status === status) && (!kind || d.kind === kind) &&
          (!tag || d.tags.indexOf(" " + tag + " ") >= 0) &&
          (isNaN(lo) || year >= lo) && (isNaN(hi) || year <= hi) &&
          (!star || d.highlight === "1") && (!text || d.text.indexOf(text) >= 0);
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (count) count.textContent = shown + (shown === rows.length ? "" : " of " + rows.length) + " entries";
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    apply();
  }
  function init() {
    document.querySelectorAll("[data-pkb-library]").forEach(setup);
  }
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(init);
  } else {
    document.addEventListener("DOMContentLoaded", init);
  }
})();
