// vigil eval report: case filters, and a self-check that marks the page once it rendered.
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    var filter = document.getElementById("case-filter");
    var all = document.querySelectorAll("details.case");
    if (filter) {
      filter.addEventListener("change", function () {
        for (var i = 0; i < all.length; i++) {
          all[i].hidden = filter.value !== "all" && all[i].getAttribute("data-status") !== filter.value;
        }
      });
    }
    var toggle = function (id, open) {
      var b = document.getElementById(id);
      if (b) {
        b.addEventListener("click", function () {
          for (var i = 0; i < all.length; i++) { all[i].open = open; }
        });
      }
    };
    toggle("expand-all", true);
    toggle("collapse-all", false);
    // Every chart must have drawn a line with points, inside its box.
    var plots = document.querySelectorAll("svg.plot");
    for (var p = 0; p < plots.length; p++) {
      var paths = plots[p].querySelectorAll("path.line");
      if (paths.length === 0 || plots[p].querySelectorAll("circle.point").length === 0) {
        throw new Error("chart " + p + " has no data");
      }
      if (paths[0].getTotalLength() <= 0 && paths[0].getAttribute("d").indexOf("L") >= 0) {
        throw new Error("chart " + p + " drew an empty line");
      }
    }
    var rows = document.querySelectorAll("table.compare tbody tr").length;
    var state = "plots=" + plots.length + " rows=" + rows + " cases=" + all.length;
    root.setAttribute("data-report-ready", state);
    console.log("vigil-report ready " + state);
  } catch (e) {
    root.setAttribute("data-report-ready", "error");
    console.error("vigil-report error: " + e.message);
  }
})();
