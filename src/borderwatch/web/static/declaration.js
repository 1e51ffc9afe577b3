// Declaration page: the explanation chart (Vega-Lite) and the party network (Cytoscape.js).
(function () {
  "use strict";
  function explanation() {
    var spec = document.getElementById("explanation-spec");
    if (!spec || !window.vegaEmbed) return;
    window.vegaEmbed("#explanation", JSON.parse(spec.textContent), { actions: false, renderer: "svg" });
  }
  var COLOURS = { importer: "#1f5fbf", declarant: "#8e44ad", seller: "#d35400", courier: "#16a085",
                  address: "#7f8c8d", declaration: "#14213d", vehicle: "#b8860b", owner: "#5d4037" };
  function network() {
    var box = document.getElementById("network");
    var note = document.getElementById("network-note");
    if (!box || !window.cytoscape) return;
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : r.json().then(function (e) { throw new Error(e.error.message); }); })
      .then(function (graph) {
        if (!graph.nodes.length) { note.textContent = "No related parties found."; return; }
        window.cytoscape({
          container: box,
          elements: { nodes: graph.nodes.map(function (n) { return { data: n }; }),
                      edges: graph.edges.map(function (e) { return { data: e }; }) },
          style: [
            { selector: "node", style: { label: "data(label)", "font-size": 9, width: 18, height: 18,
              "background-color": function (n) { return COLOURS[n.data("kind")] || "#999"; } } },
            { selector: "node[?focus]", style: { width: 30, height: 30, "border-width": 3, "border-color": "#c62828" } },
            { selector: "node[?flagged]", style: { "border-width": 3, "border-color": "#c62828" } },
            { selector: "edge", style: { width: 1.5, "line-color": "#c8ced8", "curve-style": "bezier" } }
          ],
          layout: { name: "cose", animate: false, padding: 12 }
        });
        note.textContent = graph.note || (graph.nodes.length + " parties and records, " + graph.edges.length + " links");
      })
      .catch(function (err) { note.textContent = "Network unavailable: " + err.message; });
  }
  window.addEventListener("load", function () { explanation(); network(); });
})();
