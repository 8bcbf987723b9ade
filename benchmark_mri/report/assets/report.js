(function () {
  // Figures are drawn when they come near the screen (and all of them on
  // reportDrawAll()); the page is ready once those on the first screen are.
  var status = {figures: 0, errors: [], startMs: performance.now(), drawMs: []};
  window.reportStatus = status;
  function ready() {
    if (window.reportReadyMs) return;
    window.reportReadyMs = performance.now();
    document.body.dataset.ready = "1";
  }
  if (typeof Plotly === "undefined") {
    status.errors.push("plotly.js did not load");
    document.getElementById("nojs").style.display = "block";
    window.reportDrawAll = function () { return Promise.resolve(); };
    ready(); return;
  }
  var specs = Array.prototype.slice.call(
    document.querySelectorAll("script.figure-spec"));
  var drawn = {};
  function draw(spec) {
    var id = spec.dataset.target;
    if (!drawn[id]) {
      drawn[id] = new Promise(function (resolve) {
        requestAnimationFrame(resolve);
      }).then(function () {
        var fig = JSON.parse(spec.textContent);
        return Plotly.newPlot(document.getElementById(id), fig.data, fig.layout,
                              {responsive: true, displaylogo: false});
      }).then(function () {
        status.figures += 1; status.drawMs.push(performance.now());
      }).catch(function (err) { status.errors.push(id + ": " + err); });
    }
    return drawn[id];
  }
  window.reportDrawAll = function () { return Promise.all(specs.map(draw)); };
  if (!("IntersectionObserver" in window)) {
    window.reportDrawAll().then(ready); return;
  }
  var first = true;
  var observer = new IntersectionObserver(function (entries) {
    var near = entries.filter(function (e) { return e.isIntersecting; })
      .map(function (e) { return e.target; });
    near.forEach(function (div) { observer.unobserve(div); });
    var todo = specs.filter(function (spec) {
      return near.indexOf(document.getElementById(spec.dataset.target)) >= 0;
    }).map(draw);
    if (first) { first = false; Promise.all(todo).then(ready); }
  }, {rootMargin: "400px"});
  specs.forEach(function (spec) {
    observer.observe(document.getElementById(spec.dataset.target));
  });
})();
