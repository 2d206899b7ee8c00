// Calendar grid keyboard: one Tab stop for the whole grid (a roving tabindex), arrow keys move
// between sessions and free times as they lie on the grid, Home/End to the row's ends.
// Without this script every link is still an ordinary Tab stop.
(function () {
  "use strict";

  const table = document.querySelector("table.calendar-grid");
  if (!table) { return; }
  const selector = "a.cg-block, td.cg-free a";

  // The table as a matrix of cells, rowspans spread over the rows they cover.
  const matrix = [];
  Array.from(table.tBodies[0].rows).forEach(function (tr, r) {
    matrix[r] = matrix[r] || [];
    let c = 0;
    Array.from(tr.cells).forEach(function (cell) {
      while (matrix[r][c]) { c += 1; }
      for (let dr = 0; dr < cell.rowSpan; dr += 1) {
        matrix[r + dr] = matrix[r + dr] || [];
        matrix[r + dr][c] = cell;
      }
      c += 1;
    });
  });
  const links = Array.from(table.querySelectorAll(selector));
  if (!links.length) { return; }
  const place = new Map();  // link -> [row, column] of the first grid position its cell covers
  matrix.forEach(function (row, r) {
    row.forEach(function (cell, c) {
      cell.querySelectorAll(selector).forEach(function (link) {
        if (!place.has(link)) { place.set(link, [r, c]); }
      });
    });
  });

  function linksAt(r, c) {
    const cell = matrix[r] && matrix[r][c];
    return cell ? Array.from(cell.querySelectorAll(selector)) : [];
  }

  function focus(link, current) {
    if (!link || link === current) { return; }
    current.tabIndex = -1;
    link.tabIndex = 0;
    link.focus();
  }

  // From `link`, step (dr, dc) over the grid to the first other link.
  function step(link, dr, dc) {
    const own = link.closest("td");
    let [r, c] = place.get(link);
    for (;;) {
      r += dr; c += dc;
      if (r < 0 || r >= matrix.length || c < 1 || c >= (matrix[r] || []).length) { return null; }
      const cell = matrix[r][c];
      if (cell === own) { continue; }
      const found = linksAt(r, c);
      if (found.length) { return dr < 0 ? found[found.length - 1] : found[0]; }
    }
  }

  links.forEach(function (link, i) { link.tabIndex = i === 0 ? 0 : -1; });
  table.addEventListener("keydown", function (event) {
    const link = event.target.closest(selector);
    if (!link || !place.has(link)) { return; }
    const siblings = Array.from(link.closest("td").querySelectorAll(selector));
    const index = siblings.indexOf(link);
    const [r] = place.get(link);
    let target = null;
    switch (event.key) {
      case "ArrowRight": target = step(link, 0, 1); break;
      case "ArrowLeft": target = step(link, 0, -1); break;
      case "ArrowDown": target = siblings[index + 1] || step(link, 1, 0); break;
      case "ArrowUp": target = siblings[index - 1] || step(link, -1, 0); break;
      case "Home": target = links.find(function (l) { return place.get(l)[0] === r; }); break;
      case "End": target = links.filter(function (l) { return place.get(l)[0] === r; }).pop(); break;
      default: return;
    }
    event.preventDefault();
    focus(target, link);
  });
  // A click or a Tab into the grid makes that link the grid's Tab stop.
  table.addEventListener("focusin", function (event) {
    const link = event.target.closest(selector);
    if (!link) { return; }
    links.forEach(function (other) { other.tabIndex = other === link ? 0 : -1; });
  });
})();
