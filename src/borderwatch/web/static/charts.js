// Renders every <script type="application/json" class="vega-spec"> with vega-embed into its target.
window.addEventListener("load", function () {
  "use strict";
  if (!window.vegaEmbed) return;
  document.querySelectorAll("script.vega-spec").forEach(function (node) {
    window.vegaEmbed("#" + node.dataset.target, JSON.parse(node.textContent), { actions: false, renderer: "svg" });
  });
});
