// Live progress of a roster import (as progress.js does for bulk AI grading): asks the
// import's progress (JSON, same cookie session) every second and updates the bar and the
// polite live text; once the job has moved the import to another state the page is loaded
// again, with the report, the summary or the reason it failed. Without this script, the
// page's Refresh link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var state = box.getAttribute("data-state");
  var bar = box.querySelector("progress");
  var summary = box.querySelector("[data-summary]");
  var EVERY = 1000;

  function show(progress) {
    if (progress.state !== state) {
      window.location.reload();
      return false;
    }
    if (progress.rows_total) {
      bar.max = progress.rows_total;
      bar.value = progress.rows_done;
    } else {
      bar.removeAttribute("value"); // no total yet: the bar only says that work goes on
    }
    bar.textContent = progress.summary;
    if (summary.textContent !== progress.summary) summary.textContent = progress.summary;
    return true;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) throw new Error("no progress");
        return response.json();
      })
      .then(function (progress) {
        if (show(progress)) window.setTimeout(poll, EVERY);
      })
      .catch(function () {
        window.setTimeout(poll, EVERY * 4); // a hiccup: try again a little later
      });
  }

  window.setTimeout(poll, EVERY);
})();
