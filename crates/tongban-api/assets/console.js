// The console's two helpers; every form works without them.
// 1. A pasted face schema is checked as JSON while it is typed (the server checks it
//    as JSON Schema when the form is sent).
// 2. A batch's progress bar moves while the job runs: the job's progress is read
//    every second, and the page is read again when the job is done, to show the
//    refused rows.
(function () {
  "use strict";
  var schema = document.getElementById("schema");
  var check = document.getElementById("schema-check");
  if (schema && check) {
    schema.addEventListener("input", function () {
      if (schema.value.trim() === "") {
        check.textContent = "";
        return;
      }
      try {
        JSON.parse(schema.value);
        check.textContent = check.getAttribute("data-ok");
      } catch (e) {
        check.textContent = check.getAttribute("data-bad") + " " + e.message;
      }
    });
  }

  var bar = document.getElementById("job-progress");
  var summary = document.getElementById("job-summary");
  if (!bar || !summary || bar.getAttribute("data-done") !== "no" || !window.fetch) {
    return;
  }
  var url = "/console/certificates/jobs/" + encodeURIComponent(bar.getAttribute("data-job")) + "/progress";
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (job) {
        bar.max = job.total;
        bar.value = job.settled;
        bar.textContent = job.settled + " / " + job.total;
        if (summary.textContent !== job.summary) {
          summary.textContent = job.summary;
        }
        if (job.done) {
          window.location.reload();
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        // The link under the bar still reads the page again.
        setTimeout(poll, 5000);
      });
  }
  setTimeout(poll, 1000);
})();
