"""The audit's ``report.html``: what a reviewer reads before opening ``label_issues.tsv``."""

from __future__ import annotations

import html

from ..page import SCRIPT, STYLE, fmt

WORST = 50  # flagged rows shown


def audit_page(rows: list[dict], summary: dict) -> str:
    e = html.escape
    by_shots = summary["flagged_by_shots"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>weighted-bert audit: "
             f"{e(summary['train'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>Label audit: {e(summary['train'])}</h1>",
             f"<p>{summary['rows']} training rows, each judged by a model trained on the other "
             f"{summary['folds'] - 1} of {summary['folds']} folds, with the probabilities "
             f"<b>{e(summary['audit_probabilities'])}</b>. <b>{summary['flagged']}</b> rows are flagged as probably "
             f"mislabelled ({summary['flagged_few_shot']} in few-shot classes); {summary['unscored']} could not be "
             f"judged ({e(summary['unscored_because'])}). Nothing was removed: <code>weighted-bert train --exclude "
             f"label_issues.tsv</code> leaves the flagged rows out, as a step of its own.</p>",
             "<h2>Flagged by shot group</h2><table id='by-shots'><thead><tr><th>shots</th><th>rows</th>"
             "<th>flagged</th><th>share</th></tr></thead><tbody>"]
    for group, n in by_shots.items():
        share = n["flagged"] / n["rows"] if n["rows"] else 0.0
        parts.append(f"<tr><td class='shot-{group}'>{group}</td><td class='num'>{n['rows']}</td>"
                     f"<td class='num'>{n['flagged']}</td><td class='num'>{fmt(share)}</td></tr>")
    parts.append("</tbody></table>")
    flagged = [r for r in rows if r["issue"]][:WORST]
    parts.append(f"<h2>The rows most likely wrong</h2><p>The first {len(flagged)} flagged rows, in "
                 "label_issues.tsv's order (few-shot classes first, then by score).</p><table id='worst'><thead><tr>"
                 "<th>line</th><th>text</th><th>given</th><th>suggested</th><th>score</th><th>shots</th>"
                 "</tr></thead><tbody>")
    parts += [f"<tr><td class='num'>{r['line']}</td><td class='ex'>{e(r['text'])}</td><td>{e(r['given_label'])}"
              f"</td><td>{e(r['suggested_label'])}</td><td class='num'>{fmt(r['score'])}</td>"
              f"<td class='shot-{r['shots']}'>{r['shots']}</td></tr>" for r in flagged]
    parts.append("</tbody></table>")
    parts.append("<h2>Given → suggested</h2><table id='pairs'><thead><tr><th>given</th><th>suggested</th>"
                 "<th>flagged rows</th></tr></thead><tbody>")
    parts += [f"<tr><td>{e(p['given'])}</td><td>{e(p['suggested'])}</td><td class='num'>{p['rows']}</td></tr>"
              for p in summary["pairs"]]
    parts.append("</tbody></table>")
    parts.append("<h2>Per class</h2><p>Click a column to sort.</p><table id='per-class'><thead><tr>")
    for name, numeric in (("label", False), ("training rows", True), ("shots", False), ("flagged", True),
                          ("share flagged", True), ("mostly taken for", False), ("worst lines", False)):
        parts.append(f"<th class='sortable' onclick='sortTable(this,{str(numeric).lower()})'>{e(name)}</th>")
    parts.append("</tr></thead><tbody>")
    for c in summary["per_class"]:
        note = "" if c["scored"] else " (not judged)"
        parts.append(f"<tr><td>{e(c['label'])}{note}</td><td class='num'>{c['count']}</td>"
                     f"<td class='shot-{c['shots']}'>{c['shots']}</td><td class='num'>{c['flagged']}</td>"
                     f"<td class='num'>{fmt(c['flagged_share'])}</td><td>{e(c['taken_for'] or '')}</td>"
                     f"<td>{', '.join(map(str, c['worst_lines']))}</td></tr>")
    parts.append("</tbody></table>")
    conflicts = summary["near_duplicates"]
    parts.append(f"<h2>Near-duplicates with different labels</h2><p>{len(conflicts)} training texts are the same "
                 "up to case, spacing and punctuation but carry different labels.</p><table id='conflicts'><thead>"
                 "<tr><th>text</th><th>labels</th><th>lines</th></tr></thead><tbody>")
    parts += [f"<tr><td class='ex'>{e(g['text'])}</td><td>{e(', '.join(f'{k} ×{v}' for k, v in g['labels'].items()))}"
              f"</td><td>{', '.join(map(str, g['lines'][:10]))}</td></tr>" for g in conflicts[:WORST]]
    parts.append("</tbody></table><h2>Leakage</h2><table id='leakage'><thead><tr><th>split</th><th>rows</th>"
                 "<th>repeating a training text</th><th>for example</th></tr></thead><tbody>")
    for split, leak in summary["leakage"].items():
        shown = "; ".join(f"line {x['line']} = train line {x['train_line']}" for x in leak["examples"][:3])
        parts.append(f"<tr><td>{e(split)}</td><td class='num'>{leak['rows']}</td><td class='num'>{leak['repeated']}"
                     f"</td><td>{e(shown)}</td></tr>")
    parts.append(f"</tbody></table><script>{SCRIPT}</script></body></html>\n")
    return "".join(parts)
