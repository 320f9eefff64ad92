"""What every HTML page of a run shares: the style, the sorting script, embedded pictures
and number formatting (``report.html`` of single- and multi-label runs)."""

from __future__ import annotations

import base64
import html
from pathlib import Path


def embed(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
th.sortable{cursor:pointer;user-select:none;background:#f4f4f4}th.sortable:hover{background:#e8e8e8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.metrics td:first-child{color:#555}.pictures img{max-width:100%;display:block;margin:1em 0;border:1px solid #eee}
.shot-many{color:#1f77b4}.shot-medium{color:#ff7f0e}.shot-few{color:#d62728}
.broken{outline:3px solid red}.ex{color:#444;font-size:.9em}
"""

SCRIPT = """
function sortTable(th, numeric){
  const table = th.closest('table'), body = table.tBodies[0], index = th.cellIndex;
  const descending = th.dataset.order !== 'desc';
  table.querySelectorAll('th').forEach(h => delete h.dataset.order);
  th.dataset.order = descending ? 'desc' : 'asc';
  const key = row => { const t = row.cells[index].dataset.value ?? row.cells[index].textContent;
                       return numeric ? parseFloat(t) : t.toLowerCase(); };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1); });
  rows.forEach(r => body.appendChild(r));
}
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const loaded = images.filter(img => img.complete && img.naturalWidth > 0);
  images.filter(img => !loaded.includes(img)).forEach(img => img.classList.add('broken'));
  document.body.dataset.imagesLoaded = loaded.length + '/' + images.length;
});
"""
