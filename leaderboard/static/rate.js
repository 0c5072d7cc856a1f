// The raters' page: asks for the rater's token once (kept in sessionStorage, sent only in the
// Authorization header), then shows one pair at a time; 1/A, 2/B, 3/E or the buttons rate it.
(function () {
  "use strict";
  var KEY = "imitation-rater-token";
  var code = location.pathname.replace(/\/+$/, "").split("/").pop();
  var current = null;
  var busy = false;
  var $ = function (id) { return document.getElementById(id); };

  function show(section) {
    ["login", "task", "done"].forEach(function (id) { $(id).hidden = id !== section; });
  }

  function fail(message) { $("error").textContent = message || ""; }

  function call(path, body) {
    return fetch("/api/rate/" + encodeURIComponent(code) + path, {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: {"Authorization": "Bearer " + sessionStorage.getItem(KEY),
                "Content-Type": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 401 || r.status === 403) {
          sessionStorage.removeItem(KEY);
          show("login");
        }
        if (!r.ok) {
          var err = new Error(typeof data.detail === "string" ? data.detail : "error " + r.status);
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  function render(data) {
    var p = data.progress;
    if (data.finished) {
      current = null;
      $("done-message").textContent = data.message;
      $("done-progress").textContent = p.done + " of " + p.total + " rated";
      show("done");
      return;
    }
    current = data.assignment;
    $("progress").textContent = (p.done + 1) + " of " + p.total;
    $("prompt").textContent = data.prompt;
    $("left").textContent = data.left;
    $("right").textContent = data.right;
    show("task");
    window.scrollTo(0, 0);
  }

  function load(note) {
    busy = true;
    return call("/next").then(function (data) { fail(note || ""); render(data); })
      .catch(function (e) { fail(e.message); })
      .then(function () { busy = false; setButtons(); });
  }

  function setButtons() {
    document.querySelectorAll(".choices button").forEach(function (b) { b.disabled = busy; });
  }

  function choose(choice) {
    if (busy || !current) { return; }
    busy = true;
    setButtons();
    call("/submit", {assignment: current, choice: choice})
      .then(function () { return load(); }, function (e) {
        fail(e.message); busy = false; setButtons();
        // the pair is gone (its hold expired and went to another rater) or was rated in
        // another tab, or the study closed: move on rather than leave the rater stuck on it
        if (e.status === 404 || e.status === 409) { load(e.message); }
      });
  }

  var KEYS = {"1": "left", "a": "left", "2": "right", "b": "right", "3": "equal", "e": "equal"};
  document.addEventListener("keydown", function (ev) {
    // a held key's auto-repeat would rate the next pair, unseen, as soon as it loads
    if ($("task").hidden || ev.repeat || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    if (ev.target && ev.target.tagName === "INPUT") { return; }
    var choice = KEYS[(ev.key || "").toLowerCase()];
    if (choice) { ev.preventDefault(); choose(choice); }
  });
  document.querySelectorAll(".choices button").forEach(function (b) {
    b.addEventListener("click", function () { choose(b.getAttribute("data-choice")); });
  });
  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var token = $("token").value.trim();
    if (!token) { return; }
    sessionStorage.setItem(KEY, token);
    $("token").value = "";
    if (document.activeElement) { document.activeElement.blur(); }
    load();
  });
  if (sessionStorage.getItem(KEY)) { load(); } else { show("login"); $("token").focus(); }
})();
