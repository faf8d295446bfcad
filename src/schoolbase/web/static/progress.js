// Live progress of a bulk AI grading run: asks the run's progress (JSON, same cookie
// session) every 1.5 seconds and updates the bar, the counts, the polite live text and
// each submission's outcome until the run has finished. Without this script, the page's
// Refresh link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || box.hasAttribute("data-finished")) return;
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var summary = box.querySelector("[data-summary]");
  var running = box.querySelector("[data-when-running]");
  var finished = box.querySelector("[data-when-finished]");
  var EVERY = 1500;

  function show(progress) {
    bar.max = Math.max(progress.total, 1);
    bar.value = progress.total ? progress.handled : 1;
    bar.textContent = progress.handled + " of " + progress.total;
    ["done", "failed", "skipped", "total"].forEach(function (name) {
      var count = box.querySelector('[data-count="' + name + '"]');
      if (count && count.textContent !== String(progress[name])) count.textContent = progress[name];
    });
    Object.keys(progress.items).forEach(function (id) {
      var row = document.querySelector('[data-item="' + id + '"]');
      if (!row) return;
      var item = progress.items[id];
      var outcome = row.querySelector("[data-outcome]");
      outcome.textContent = item.outcome;
      outcome.className = "status status-job-" + item.state;
      row.querySelector("[data-note]").textContent = item.note;
    });
    if (summary.textContent !== progress.summary) summary.textContent = progress.summary;
    if (progress.finished) {
      running.hidden = true;
      finished.hidden = false;
      box.setAttribute("data-finished", "");
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("no progress");
        return response.json();
      })
      .then(function (progress) {
        show(progress);
        if (!progress.finished) window.setTimeout(poll, EVERY);
      })
      .catch(function () {
        window.setTimeout(poll, EVERY * 4); // a hiccup: try again a little later
      });
  }

  window.setTimeout(poll, EVERY);
})();
