// segflow dashboard: optional enhancements of the segment grid. Without JavaScript the server
// sorts and filters (query parameters); with it, the same happens in place, and the static
// report (no server) honours ?q=, ?group= and ?sort= too.
"use strict";
(function () {
  const table = document.getElementById("segment-grid");
  const form = document.getElementById("grid-filters");
  if (!table) return;
  const tbody = table.tBodies[0];
  const METRIC_KEYS = Array.from(table.querySelectorAll("th.num")).map((th) => th.dataset.key);
  const search = document.getElementById("grid-search");
  const group = document.getElementById("grid-group");
  let sort = table.dataset.sort || "id";

  function cellValue(row, index) {
    return row.cells[index].dataset.value;
  }

  // The server's order: metrics largest first ("+metric": smallest first), missing figures
  // last; id and title in code-point order ("-id": reversed).
  function applySort() {
    const key = sort.replace(/^[-+]/, "");
    const isMetric = METRIC_KEYS.includes(key);
    const descending = isMetric ? !sort.startsWith("+") : sort.startsWith("-");
    const headers = Array.from(table.tHead.rows[0].cells);
    const index = headers.findIndex((th) => th.dataset.key === key);
    if (index < 0) return;
    const rows = Array.from(tbody.rows);
    rows.sort((a, b) => {
      const x = cellValue(a, index), y = cellValue(b, index);
      if (isMetric) {
        if (x === "" || y === "") return (x === "") - (y === "");
        return descending ? Number(y) - Number(x) : Number(x) - Number(y);
      }
      const order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach((row) => tbody.appendChild(row));
    headers.forEach((th) => {
      const k = th.dataset.key;
      if (!k) return;
      const current = k === key;
      th.setAttribute("aria-sort", current ? (descending ? "descending" : "ascending") : "none");
      let next = k;
      if (METRIC_KEYS.includes(k)) next = current && descending ? "+" + k : k;
      else next = current && !descending ? "-" + k : k;
      th.querySelector("a").setAttribute("href", "?" + query(next));
    });
    table.dataset.sort = sort;
    if (form) form.elements.sort.value = sort;
  }

  function applyFilter() {
    const text = search ? search.value.trim().toLowerCase() : "";
    const wanted = group ? group.value : "";
    let shown = 0;
    for (const row of tbody.rows) {
      const hit = (!text || row.dataset.id.toLowerCase().includes(text) ||
                   row.dataset.title.toLowerCase().includes(text)) &&
                  (!wanted || row.dataset.groups.split(" ").includes(wanted));
      row.hidden = !hit;
      if (hit) shown += 1;
    }
    const count = document.getElementById("grid-count");
    if (count) count.textContent = shown + (shown === 1 ? " segment" : " segments");
    const empty = document.getElementById("grid-empty");
    if (empty) empty.hidden = shown > 0;
  }

  function query(sortValue) {
    const params = new URLSearchParams();
    if (search && search.value.trim()) params.set("q", search.value.trim());
    if (group && group.value) params.set("group", group.value);
    if (sortValue && sortValue !== "id") params.set("sort", sortValue);
    return params.toString();
  }

  function remember() {
    const q = query(sort);
    history.replaceState(null, "", q ? "?" + q : location.pathname);
  }

  table.tHead.addEventListener("click", (event) => {
    const link = event.target.closest("th a");
    if (!link) return;
    event.preventDefault();
    sort = new URLSearchParams(link.getAttribute("href").slice(1)).get("sort") || "id";
    applySort();
    remember();
  });
  if (search) search.addEventListener("input", () => { applyFilter(); remember(); });
  if (group) group.addEventListener("change", () => { applyFilter(); remember(); });
  if (form) form.addEventListener("submit", (event) => { event.preventDefault(); remember(); });

  if (document.body.dataset.static) {
    // No server behind a static report: take the parameters from the address.
    const params = new URLSearchParams(location.search);
    if (search && params.get("q")) search.value = params.get("q");
    if (group && params.get("group")) group.value = params.get("group");
    sort = params.get("sort") || sort;
    applySort();
    applyFilter();
  }
})();
