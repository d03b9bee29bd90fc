// Ours (not vendored). Loaded on pages with widgets, between require.js and the
// widget manager's embed-amd.js (see nb_ipywidgets_js in _config.yml).
(function () {
  "use strict";

  // 1. The webpack bundles inside embed-amd.js find their font files relative to
  //    their AMD module's URL; without this they resolve next to the page (404).
  //    Point every @jupyter-widgets module at the folder holding the vendored fonts
  //    (the modules are defined inline by embed-amd.js, so nothing else is fetched).
  var fonts = new URL("vendor/ipywidgets/", document.currentScript.src).href.replace(/\/$/, "");
  require.config({
    paths: {
      "@jupyter-widgets": fonts,
      "@jupyter-widgets/html-manager/dist": fonts,
    },
  });

  // 2. The widget manager typesets labels with the MathJax 2 call
  //    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads
  //    MathJax 3, which has no Hub, so every widget label threw a TypeError.
  //    Give whichever object window.MathJax is (the configuration first, then
  //    MathJax 3 itself once loaded) a Hub.Queue that calls MathJax 3's API.
  function withHub(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          var mj = window.MathJax;
          if (element && mj && typeof mj.typesetPromise === "function") {
            mj.typesetPromise([element]).catch(function () {});
          }
        },
      };
    }
    return mathjax;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); },
  });
})();
