// The gradebook grid from the keyboard, like a spreadsheet: arrow keys and Enter move between
// cells, Escape undoes a change, and a changed cell is saved when you leave it (one POST of a
// form with the page's token; the answer updates the cell and the student's course percentage).
// Without this script the grid is a plain form saved with its "Save grades" button.
(function () {
  "use strict";
  var form = document.getElementById("gradebook-form");
  if (!form || !window.fetch || !window.FormData) return;
  var status = document.getElementById("gradebook-status");
  var cellUrl = form.getAttribute("data-cell-url");
  var queue = Promise.resolve(); // saves run one after another, so answers arrive in order

  function position(input) {
    var found = /^c(\d+)_(\d+)$/.exec(input.id || "");
    return found ? { row: +found[1], col: +found[2] } : null;
  }

  function cellAt(row, col) {
    return document.getElementById("c" + row + "_" + col);
  }

  var rows = form.querySelectorAll("tbody tr").length;
  var cols = form.querySelectorAll("thead th.assignment").length;

  // The next cell that takes points from (row, col), a step of (dRow, dCol) at a time.
  function next(at, dRow, dCol) {
    var row = at.row + dRow, col = at.col + dCol;
    while (row >= 0 && row < rows && col >= 0 && col < cols) {
      var input = cellAt(row, col);
      if (input) return input;
      row += dRow;
      col += dCol;
    }
    return null;
  }

  function go(input, dRow, dCol) {
    var target = next(position(input), dRow, dCol);
    if (target) {
      target.focus();
      target.select();
    }
    return target;
  }

  function say(text, failed) {
    status.textContent = text;
    status.classList.toggle("failed", !!failed);
  }

  function label(input) {
    var at = position(input);
    var student = document.getElementById("s" + at.row).textContent.trim();
    var assignment = document.getElementById("a" + at.col).textContent.trim();
    return student + ", " + assignment;
  }

  function showError(input, text) {
    var id = "e" + input.id.slice(1);
    var error = document.getElementById(id);
    if (!text) {
      if (error) error.remove();
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", "m" + input.id.slice(1));
      return;
    }
    if (!error) {
      error = document.createElement("span");
      error.className = "cell-error";
      error.id = id;
      input.parentNode.appendChild(error);
    }
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id + " m" + input.id.slice(1));
  }

  function saved(input) {
    return input.getAttribute("data-saved") !== null ? input.getAttribute("data-saved") : input.defaultValue;
  }

  function save(input) {
    var value = input.value.trim();
    if (value === saved(input) || value === input.getAttribute("data-pending")) return;
    if (value === "") {
      input.value = saved(input);
      say("A blank cell is not saved: " + label(input) + " keeps " + (saved(input) || "no grade") + ".");
      return;
    }
    var at = position(input);
    var data = new FormData();
    data.append("csrf_token", form.elements.namedItem("csrf_token").value);
    data.append("student_id", form.elements.namedItem("s" + at.row).value);
    data.append("assignment_id", form.elements.namedItem("a" + at.col).value);
    data.append("points", value);
    data.append("state", form.elements.namedItem("state").value);
    input.setAttribute("aria-busy", "true");
    input.setAttribute("data-pending", value);
    say("Saving " + label(input) + "…");
    queue = queue
      .then(function () {
        return fetch(cellUrl, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        }).then(function (response) {
          return response.json().then(
            function (body) { return { ok: response.ok, body: body }; },
            function () { return { ok: false, body: { error: "Not saved (error " + response.status + "). Reload the page and try again." } }; }
          );
        });
      })
      .catch(function () {
        return { ok: false, body: { error: "Not saved: the connection failed. Try again." } };
      })
      .then(function (result) {
        input.removeAttribute("aria-busy");
        input.removeAttribute("data-pending");
        if (!result.ok) {
          showError(input, result.body.error);
          say(label(input) + ": " + result.body.error, true);
          return;
        }
        var body = result.body;
        input.setAttribute("data-saved", body.value);
        // What "Save grades" compares with: this cell now shows what is saved.
        var shown = form.elements.namedItem("w" + at.row);
        var points = shown.value.split("|");
        points[at.col] = body.value;
        shown.value = points.join("|");
        if (document.activeElement !== input && input.value.trim() === value) input.value = body.value;
        showError(input, "");
        document.getElementById("m" + at.row + "_" + at.col).textContent = body.mark;
        var course = document.getElementById("course" + at.row);
        course.firstChild.nodeValue = body.course + " ";
        course.querySelector(".letter").textContent = body.letter;
        say("Saved " + body.value + " for " + label(input) + ". Course " + body.course + (body.letter ? " " + body.letter : "") + ".");
      });
  }

  form.addEventListener("focusin", function (event) {
    if (position(event.target)) event.target.select();
  });

  form.addEventListener("change", function (event) {
    if (position(event.target)) save(event.target);
  });

  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!position(input) || event.altKey || event.ctrlKey || event.metaKey) return;
    var whole = input.selectionStart === 0 && input.selectionEnd === input.value.length;
    var moved = true;
    switch (event.key) {
      case "ArrowUp": go(input, -1, 0); break;
      case "ArrowDown": go(input, 1, 0); break;
      case "ArrowLeft":
        if (whole || input.selectionEnd === 0) go(input, 0, -1); else moved = false;
        break;
      case "ArrowRight":
        if (whole || input.selectionStart === input.value.length) go(input, 0, 1); else moved = false;
        break;
      case "Enter":
        // Down (Shift: up); on the last row the cell is saved where it is.
        if (!go(input, event.shiftKey ? -1 : 1, 0)) save(input);
        break;
      case "Escape":
        input.value = saved(input);
        input.select();
        showError(input, "");
        say("Undone: " + label(input) + " is back to " + (saved(input) || "no grade") + ".");
        break;
      default:
        moved = false;
    }
    if (moved) event.preventDefault();
  });
})();
