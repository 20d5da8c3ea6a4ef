// Progress bars for background jobs (templates/_macros.html: job_progress): poll until the job ends.
(function () {
  "use strict";
  function watch(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".job-message");
    function poll() {
      fetch(box.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (run) {
          if (!run) return;
          box.dataset.state = run.state;
          if (run.total) { bar.max = run.total; bar.value = run.done; }
          text.textContent = run.message || run.state;
          if (run.state === "done" || run.state === "failed") {
            if (box.hasAttribute("data-reload")) window.location.reload();
            return;
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    if (box.dataset.state !== "done" && box.dataset.state !== "failed") poll();
  }
  document.querySelectorAll(".job-progress[data-job-url]").forEach(watch);
})();
