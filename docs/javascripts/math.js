// Render the formulas pymdownx.arithmatex marks (generic mode) with the KaTeX the
// build copies from node_modules; nothing is fetched from elsewhere.
//
// KaTeX (~300 KB of script and style) is loaded only by a page that has a formula:
// most pages (the home page, tables, most entries) have none, and parsing it held back
// every page's load on a 2-core machine.
(function () {
  var vendor = new URL("../assets/vendor/katex/", document.currentScript.src);
  var loading = null;

  function load() {
    if (loading) return loading;
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = new URL("katex.min.css", vendor).href;
    document.head.appendChild(style);
    // auto-render needs katex: the second script is added once the first has run.
    loading = ["katex.min.js", "contrib/auto-render.min.js"].reduce(function (previous, name) {
      return previous.then(function () {
        return new Promise(function (resolve, reject) {
          var script = document.createElement("script");
          script.src = new URL(name, vendor).href;
          script.onload = resolve;
          script.onerror = function () {
            reject(new Error("KaTeX: cannot load " + script.src));
          };
          document.head.appendChild(script);
        });
      });
    }, Promise.resolve());
    return loading;
  }

  function render() {
    var formulas = document.querySelectorAll(".arithmatex");
    if (!formulas.length) return;
    load().then(function () {
      formulas.forEach(function (el) {
        renderMathInElement(el, {
          delimiters: [
            { left: "\\(", right: "\\)", display: false },
            { left: "\\[", right: "\\]", display: true },
          ],
          throwOnError: false,
        });
      });
    }, function (error) {
      console.error(error.message); // the formulas stay as their TeX source
    });
  }
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(render);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", render);
  } else {
    render();
  }
})();
