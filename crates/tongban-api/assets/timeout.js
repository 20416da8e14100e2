// A login page (login, second step, consent, whom a login is for) is usable for 15
// minutes. Two minutes before the end this shows a warning with a "more time" button,
// which asks the server for another 15 minutes (up to 2 hours in all), so that nobody
// loses what they typed because they read or type slowly. Without JavaScript the page
// works as before; an expired page says so and starts again.
(function () {
  "use strict";
  var box = document.getElementById("timeout-warning");
  var form = document.querySelector("form input[name=csrf_token]");
  if (!box || !form || !window.fetch) {
    return;
  }
  var button = box.querySelector("button");
  var timer = null;
  var deadline = 0;

  // The warning is announced (role=alert) without taking the focus from what the
  // person is typing. Timers stall while a phone sleeps: the deadline is checked
  // again when the page comes back.
  function schedule(seconds) {
    if (timer) {
      clearTimeout(timer);
    }
    deadline = Date.now() + seconds * 1000;
    box.hidden = true;
    timer = setTimeout(function () {
      box.hidden = false;
    }, Math.max(0, seconds - 120) * 1000);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && deadline && Date.now() > deadline - 120000) {
      box.hidden = false;
    }
  });

  function ask(method, body) {
    return fetch(method === "GET" ? "/login/time" : "/login/more-time", {
      method: method,
      credentials: "same-origin",
      headers: body ? { "content-type": "application/x-www-form-urlencoded" } : {},
      body: body
    }).then(function (response) {
      return response.ok ? response.json() : null;
    });
  }

  button.addEventListener("click", function () {
    var body = "csrf_token=" + encodeURIComponent(form.value);
    ask("POST", body).then(function (left) {
      if (left) {
        schedule(left.seconds);
      }
    });
  });
  ask("GET").then(function (left) {
    if (left) {
      schedule(left.seconds);
    }
  });
})();
