// Client-side sort and filter of the main table (our own code, no library, no CDN).
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  var sortKey = document.getElementById("sort-key");
  var state = { col: null, dir: 1 };

  function cellValue(row, col) {
    if (col === "name" || col === "kind") { return row.dataset[col] || ""; }
    if (col === "tokens") { return row.dataset.tokens === "" ? null : Number(row.dataset.tokens); }
    var idx = Number(col.slice(1));
    var cell = row.querySelectorAll("td.score")[idx];
    var raw = cell ? cell.dataset[sortKey ? sortKey.value : "score"] : "";
    return raw === "" || raw === undefined ? null : Number(raw);
  }

  function sortBy(col, th) {
    state.dir = state.col === col ? -state.dir : (col === "name" || col === "kind" ? 1 : -1);
    state.col = col;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, col), y = cellValue(b, col);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      if (typeof x === "string") { return state.dir * x.localeCompare(y); }
      return state.dir * (x - y);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(headers, function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
    th.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc");
  }

  Array.prototype.forEach.call(headers, function (th) {
    if (!th.dataset.col) { return; }
    th.addEventListener("click", function () { sortBy(th.dataset.col, th); });
  });

  var name = document.getElementById("f-name");
  var selects = ["base", "data", "teacher"].map(function (k) { return [k, document.getElementById("f-" + k)]; });
  function applyFilters() {
    var text = (name.value || "").toLowerCase();
    Array.prototype.forEach.call(body.rows, function (row) {
      var show = row.dataset.name.toLowerCase().indexOf(text) !== -1;
      selects.forEach(function (pair) {
        var want = pair[1].value;
        if (!want) { return; }
        var have = row.dataset[pair[0]];
        var kind = row.dataset.kind;
        if (pair[0] === "data" && kind !== "imitation") { return; }
        if (pair[0] === "base" && kind === "teacher") { return; }
        if (pair[0] === "teacher" && kind === "base") { return; }
        if (have !== want) { show = false; }
      });
      row.hidden = !show;
    });
  }
  name.addEventListener("input", applyFilters);
  selects.forEach(function (pair) { pair[1].addEventListener("change", applyFilters); });
  var form = document.getElementById("filters");
  if (form.dataset.mode !== "server") {  // a static export: no server to ask
    Array.prototype.forEach.call(form.querySelectorAll(".served-only"), function (el) { el.hidden = true; });
  }
  form.addEventListener("submit", function (e) {
    if (form.dataset.mode === "server") { return; }  // the server filters every page
    e.preventDefault(); applyFilters();
  });
  applyFilters();
})();
