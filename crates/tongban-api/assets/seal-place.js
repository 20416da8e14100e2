// Putting a seal where it goes on a page of the PDF, before it is sealed. The form
// works without this script (the named spots need none).
// pdf.js (vendored unchanged, assets/vendor) draws the chosen page of the chosen file
// in the browser; nothing leaves it until the form is sent. A click on the page or a
// drag puts the seal there; the arrow keys move it (Shift: further). The form then
// sends anchor=placed with x and y: the seal's lower-left corner in PDF points, which
// the server checks against the page like any other placement.
(function () {
  "use strict";
  var place = document.getElementById("seal-place");
  var file = document.getElementById("pdf");
  var pageField = document.getElementById("page");
  var canvas = document.getElementById("seal-place-page");
  var spot = document.getElementById("seal-place-spot");
  var said = document.getElementById("seal-place-status");
  var notice = document.getElementById("seal-place-notice");
  var choice = document.getElementById("placed-choice");
  var placed = document.getElementById("at-placed");
  var xField = document.getElementById("x");
  var yField = document.getElementById("y");
  if (!place || !file || !pageField || !canvas || !spot || !said || !notice || !choice ||
      !placed || !xField || !yField || !canvas.getContext || !window.Promise) {
    return;
  }
  var size = Number(place.getAttribute("data-size"));
  var lib = null; // pdf.js, once loaded
  var doc = null; // the chosen file, as pdf.js read it
  var view = null; // the drawn page's viewport (PDF points <-> CSS pixels)
  var box = null; // the drawn page's visible box, [x0, y0, x1, y1] in PDF points
  var task = null; // the drawing under way
  var at = null; // the seal's lower-left corner in PDF points, once put by hand
  if (placed.checked && xField.value !== "" && yField.value !== "") {
    at = { x: Number(xField.value), y: Number(yField.value) };
  }

  function pdfjs() {
    if (lib) {
      return Promise.resolve(lib);
    }
    return import(place.getAttribute("data-lib")).then(function (module) {
      module.GlobalWorkerOptions.workerSrc = place.getAttribute("data-worker");
      lib = module;
      return module;
    });
  }

  // No preview (no file, one pdf.js cannot read, a turned page): the named spots
  // stay, and `message`, when given, says why.
  function hide(message) {
    place.hidden = true;
    choice.hidden = true;
    view = null;
    if (placed.checked) {
      var fallback = document.getElementById("at-bottom-right");
      if (fallback) {
        fallback.checked = true;
      }
    }
    notice.textContent = message || "";
    notice.hidden = !message;
  }

  // Where a named spot puts the seal: half an inch from the edges it names, as the
  // server's Anchor::place does.
  function anchored(name) {
    var margin = Math.max(0, Math.min(36, (box[2] - box[0] - size) / 2, (box[3] - box[1] - size) / 2));
    var left = box[0] + margin, centre = (box[0] + box[2] - size) / 2, right = box[2] - margin - size;
    var bottom = box[1] + margin, middle = (box[1] + box[3] - size) / 2, top = box[3] - margin - size;
    var spots = {
      "top-left": [left, top], "top": [centre, top], "top-right": [right, top],
      "left": [left, middle], "centre": [centre, middle], "right": [right, middle],
      "bottom-left": [left, bottom], "bottom": [centre, bottom], "bottom-right": [right, bottom]
    };
    var xy = spots[name] || spots["bottom-right"];
    return { x: xy[0], y: xy[1] };
  }

  function clamped(corner) {
    return {
      x: Math.min(Math.max(corner.x, box[0]), box[2] - size),
      y: Math.min(Math.max(corner.y, box[1]), box[3] - size)
    };
  }

  function chosenAnchor() {
    var checked = document.querySelector("input[name=anchor]:checked");
    return checked ? checked.value : "bottom-right";
  }

  // Draws the seal at its place: the hand-put corner, or the named spot.
  function show() {
    if (!view) {
      return;
    }
    var corner = placed.checked && at ? at : anchored(chosenAnchor());
    var a = view.convertToViewportPoint(corner.x, corner.y);
    var b = view.convertToViewportPoint(corner.x + size, corner.y + size);
    spot.style.left = Math.min(a[0], b[0]) + "px";
    spot.style.top = Math.min(a[1], b[1]) + "px";
    spot.style.width = Math.abs(b[0] - a[0]) + "px";
    spot.style.height = Math.abs(b[1] - a[1]) + "px";
    said.textContent = place.getAttribute("data-at")
      .replace("%x", String(Math.round(corner.x - box[0])))
      .replace("%y", String(Math.round(corner.y - box[1])));
  }

  // Puts the seal with its centre at a point of the drawn page (CSS pixels).
  function putAt(px, py) {
    var p = view.convertToPdfPoint(px, py);
    at = clamped({ x: p[0] - size / 2, y: p[1] - size / 2 });
    xField.value = at.x.toFixed(1);
    yField.value = at.y.toFixed(1);
    placed.checked = true;
    show();
  }

  function draw() {
    if (!doc) {
      return;
    }
    var number = Math.min(Math.max(parseInt(pageField.value, 10) || 1, 1), doc.numPages);
    doc.getPage(number).then(function (page) {
      if (task) {
        task.cancel();
      }
      // A seal put on a turned page would stamp turned too (the server refuses the
      // named spots there for the same reason).
      if (page.rotate % 360 !== 0) {
        hide(place.getAttribute("data-rotated"));
        return;
      }
      notice.hidden = true;
      place.hidden = false;
      var natural = page.getViewport({ scale: 1 });
      var room = Math.max(place.clientWidth, 200);
      view = page.getViewport({ scale: Math.min(room / natural.width, 1.5) });
      box = page.view;
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.floor(view.width * ratio);
      canvas.height = Math.floor(view.height * ratio);
      canvas.style.width = Math.floor(view.width) + "px";
      canvas.style.height = Math.floor(view.height) + "px";
      task = page.render({
        canvas: canvas,
        viewport: view,
        transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0]
      });
      if (at) {
        at = clamped(at);
      }
      choice.hidden = false;
      show();
      return task.promise;
    }).catch(function (error) {
      if (!error || error.name !== "RenderingCancelledException") {
        hide(place.getAttribute("data-unreadable"));
      }
    });
  }

  file.addEventListener("change", function () {
    var chosen = file.files && file.files[0];
    doc = null;
    view = null;
    if (!chosen) {
      hide("");
      return;
    }
    Promise.all([pdfjs(), chosen.arrayBuffer()]).then(function (loaded) {
      return loaded[0].getDocument({ data: new Uint8Array(loaded[1]) }).promise;
    }).then(function (opened) {
      doc = opened;
      pageField.max = String(opened.numPages);
      draw();
    }).catch(function () {
      hide(place.getAttribute("data-unreadable"));
    });
  });
  pageField.addEventListener("change", draw);
  document.querySelectorAll("input[name=anchor]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio !== placed) {
        at = null;
        xField.value = "";
        yField.value = "";
      } else if (!at && box) {
        at = anchored("bottom-right");
        xField.value = at.x.toFixed(1);
        yField.value = at.y.toFixed(1);
      }
      show();
    });
  });

  canvas.addEventListener("click", function (event) {
    var r = canvas.getBoundingClientRect();
    putAt(event.clientX - r.left, event.clientY - r.top);
  });

  var dragging = false;
  spot.addEventListener("pointerdown", function (event) {
    dragging = true;
    spot.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  spot.addEventListener("pointermove", function (event) {
    if (dragging) {
      var r = canvas.getBoundingClientRect();
      putAt(event.clientX - r.left, event.clientY - r.top);
    }
  });
  spot.addEventListener("pointerup", function (event) {
    dragging = false;
    spot.releasePointerCapture(event.pointerId);
  });

  // Arrow keys move the seal as it looks on screen: 6 points a press, 36 with Shift.
  spot.addEventListener("keydown", function (event) {
    var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    var move = moves[event.key];
    if (!move || !view) {
      return;
    }
    event.preventDefault();
    var step = (event.shiftKey ? 36 : 6) * view.scale;
    var left = parseFloat(spot.style.left), top = parseFloat(spot.style.top);
    var half = parseFloat(spot.style.width) / 2;
    putAt(left + half + move[0] * step, top + half + move[1] * step);
  });
})();
