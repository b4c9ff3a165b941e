# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Human reports of a drift result: Markdown and one self-contained HTML page (no external assets)."""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import html
import json
from typing import Any

MAX_VALUE = 160


def short(value: Any) -> str:
    """One-line rendering of a desired/live value (long values cut, never multi-line)."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _md_cell(value: Any) -> str:
    return short(value).replace("|", "\\|").replace("`", "'")


def _title(result: dict[str, Any]) -> str:
    return "Drift report: %s" % ("DRIFT FOUND" if result.get("drifted") else "no drift")


def _summary_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    c = result.get("counts") or {}
    rows = [("Instances checked", str(c.get("instances", 0))), ("Drift items", str(c.get("total", 0))),
            ("Ignored by rules", str(c.get("ignored", 0)))]
    for key, label in (("by_source", "By source"), ("by_change", "By change"), ("by_tenant", "By tenant")):
        if c.get(key):
            rows.append((label, ", ".join("%s: %d" % kv for kv in sorted(c[key].items()))))
    if result.get("remediated") or result.get("unremediated"):
        rows.append(("Remediated", str(len(result.get("remediated") or []))))
        rows.append(("Not remediated", str(len(result.get("unremediated") or []))))
    return rows


COLUMNS = ("source", "tenant", "resource", "change", "path", "desired", "live")


def markdown(result: dict[str, Any], generated: str = "") -> str:
    out = ["# %s" % _title(result), ""]
    if generated:
        out += ["Generated %s." % generated, ""]
    out += ["| | |", "| --- | --- |"]
    out += ["| %s | %s |" % (k, _md_cell(v)) for k, v in _summary_rows(result)]
    out.append("")
    items = result.get("items") or []
    if items:
        out += ["## Drift", "", "| %s |" % " | ".join(COLUMNS), "|%s" % (" --- |" * len(COLUMNS))]
        for it in items:
            out.append("| %s |" % " | ".join(_md_cell(it.get(c)) for c in COLUMNS))
        out.append("")
    else:
        out += ["Desired and live state match.", ""]
    if result.get("unremediated"):
        out += ["## Not remediated", "", "| resource | path | reason |", "| --- | --- | --- |"]
        out += ["| %s | %s | %s |" % (_md_cell(it.get("resource")), _md_cell(it.get("path")),
                                      _md_cell(it.get("reason"))) for it in result["unremediated"]]
        out.append("")
    if result.get("remediated"):
        out += ["## Remediated", ""]
        out += ["- %s `%s` (%s): %s" % (it.get("resource"), it.get("path") or "-", it.get("change"),
                                        it.get("remediation")) for it in result["remediated"]]
        out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.5rem}h1.bad{color:#b3261e}h1.ok{color:#146c2e}table{border-collapse:collapse;margin:1rem 0;
width:100%}th,td{border:1px solid #d0d5dd;padding:.35rem .5rem;text-align:left;vertical-align:top;
font-size:.9rem}th{background:#f2f4f7}td code{font-family:ui-monospace,monospace;font-size:.85rem;
word-break:break-all}tr.changed td.change{color:#b54708}tr.missing td.change,tr.unmanaged td.change,
tr.added td.change{color:#b3261e}.summary td:first-child{font-weight:600;width:14rem}"""


def html_page(result: dict[str, Any], generated: str = "") -> str:
    e = html.escape
    title = _title(result)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>%s</title><style>%s</style></head><body>" % (e(title), _CSS),
             '<h1 class="%s">%s</h1>' % ("bad" if result.get("drifted") else "ok", e(title))]
    if generated:
        parts.append("<p>Generated %s.</p>" % e(generated))
    parts.append('<table class="summary">')
    parts += ["<tr><td>%s</td><td>%s</td></tr>" % (e(k), e(v)) for k, v in _summary_rows(result)]
    parts.append("</table>")
    items = result.get("items") or []
    if items:
        parts.append("<h2>Drift</h2><table><tr>%s</tr>" % "".join("<th>%s</th>" % e(c) for c in COLUMNS))
        for it in items:
            cells = []
            for c in COLUMNS:
                val = e(short(it.get(c)))
                cls = ' class="change"' if c == "change" else ""
                shown = "<code>%s</code>" % val if c in ("path", "desired", "live") else val
                cells.append("<td%s>%s</td>" % (cls, shown))
            parts.append('<tr class="%s">%s</tr>' % (e(str(it.get("change"))), "".join(cells)))
        parts.append("</table>")
    else:
        parts.append("<p>Desired and live state match.</p>")
    if result.get("unremediated"):
        parts.append("<h2>Not remediated</h2><table><tr><th>resource</th><th>path</th><th>reason</th></tr>")
        parts += ["<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>"
                  % (e(short(it.get("resource"))), e(short(it.get("path"))), e(short(it.get("reason"))))
                  for it in result["unremediated"]]
        parts.append("</table>")
    if result.get("remediated"):
        parts.append("<h2>Remediated</h2><ul>")
        parts += ["<li>%s <code>%s</code> (%s): %s</li>" % (e(short(it.get("resource"))), e(it.get("path") or "-"),
                                                            e(str(it.get("change"))), e(str(it.get("remediation"))))
                  for it in result["remediated"]]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
