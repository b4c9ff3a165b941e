# -*- coding: utf-8 -*-
# Copyright: erpops.odoo contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release notes: a Markdown summary of one gated release (what, risk, approvals, impact, rollback)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_KIND_LABELS = {
    "image": "Container image", "odoo_conf": "odoo.conf", "modules_update": "Modules updated",
    "modules_install": "Modules installed", "db_migration": "Database migration",
    "infrastructure": "Infrastructure", "credentials": "Credentials rotated",
}


def _md(text):
    """One line of Markdown-safe text (no newlines, table pipes escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _list_text(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(_md(v) for v in value) or "-"
    return _md(value)


def render_release_notes(decision, business_impact=None, rollback_point=None):
    """Markdown release notes for a gate ``decision`` (from :func:`gate.evaluate`)."""
    change = decision.get("change") or {}
    cid = change.get("id") or "unknown change"
    lines = ["# Release %s" % _md(cid), ""]
    if change.get("summary"):
        lines += [_md(change["summary"]), ""]
    status = "ALLOWED" if decision.get("allowed") else "BLOCKED"
    if decision.get("break_glass"):
        status += " (break-glass, post-review required)"
    elif decision.get("post_review_required"):
        status += " (post-review required)"
    lines += [
        "| | |", "|---|---|",
        "| Gate decision | %s |" % status,
        "| Risk class | %s |" % _md(decision.get("risk_class") or "unknown"),
        "| Environment | %s |" % _md(change.get("environment") or "-"),
        "| Tenants | %s |" % _list_text(change.get("tenants") or []),
        "| Operation | %s |" % _md(change.get("operation") or "-"),
        "| Author | %s |" % _md(change.get("author") or "-"),
        "| Evaluated at | %s |" % _md(decision.get("evaluated_at") or "-"),
        "| Planned duration | %s min |" % _md(change.get("duration_minutes") or "-"),
        "",
        "## What changes", "",
    ]
    for kind in change.get("kinds") or []:
        detail = ""
        if kind == "image" and change.get("image"):
            detail = ": `%s`" % _md(change["image"])
        elif kind in ("modules_update", "modules_install") and change.get(kind):
            detail = ": %s" % _list_text(change[kind])
        lines.append("- %s%s" % (_KIND_LABELS.get(kind, _md(kind)), detail))
    if change.get("revision_before") or change.get("revision_after"):
        lines.append("- Revision: %s -> %s" % (_md(change.get("revision_before") or "?"),
                                               _md(change.get("revision_after") or "?")))
    if change.get("ticket"):
        lines.append("- Ticket: %s" % _md(change["ticket"]))
    lines += ["", "## Risk", ""]
    lines += ["- %s" % _md(r) for r in decision.get("risk_reasons") or ["not classified"]]
    lines += ["", "## Approvals", ""]
    approvals = decision.get("approvals") or []
    if approvals:
        lines += ["- %s (%s) at %s" % (_md(a["approver"]), _list_text(a.get("roles") or []), _md(a["timestamp"]))
                  for a in approvals]
    else:
        lines.append("- none")
    for r in decision.get("rejected_approvals") or []:
        lines.append("- rejected %s: %s" % (_md(r.get("file")), _md(r.get("reason"))))
    if decision.get("break_glass"):
        lines += ["", "## Break-glass", "", "- Reason: %s" % _md(decision.get("break_glass_reason")),
                  "- Post-review required."]
    lines += ["", "## Calendar", ""]
    freezes = decision.get("freezes") or []
    lines += ["- %s" % _md(f["reason"]) for f in freezes] or ["- no freeze active"]
    if decision.get("next_window"):
        nw = decision["next_window"]
        lines.append("- next release window: %s .. %s" % (_md(nw["start"]), _md(nw["end"])))
    lines += ["", "## Business impact", ""]
    impact = business_impact or []
    if isinstance(impact, str):
        impact = [impact]
    lines += ["- %s" % _md(i) for i in impact] or ["- none stated"]
    lines += ["", "## Rollback point", "", "- %s" % _md(rollback_point or "not recorded"), ""]
    lines += ["## Decision reasons", ""] + ["- %s" % _md(r) for r in decision.get("reasons") or []]
    return "\n".join(lines) + "\n"
