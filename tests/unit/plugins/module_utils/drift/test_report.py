"""Markdown and HTML reports."""

from __future__ import annotations

from ansible_collections.erpops.odoo.plugins.module_utils.drift import check, report

ITEMS = [
    {"source": "kubernetes", "tenant": "acme", "resource": "Deployment acme/acme-web", "change": "changed",
     "path": "spec.replicas", "desired": 2, "live": 5},
    {"source": "kubernetes", "tenant": "acme", "resource": "Middleware acme/x", "change": "changed",
     "path": "spec.match", "desired": "Host(`a|b`) <script>", "live": {"k": "v" * 400}},
]


def _result(items):
    return {"drifted": bool(items), "counts": check.counts(items, 3, 1), "items": items,
            "remediated": [], "unremediated": [dict(items[0], reason="nope")] if items else []}


def test_markdown():
    md = report.markdown(_result(ITEMS), "2026-01-01")
    assert md.startswith("# Drift report: DRIFT FOUND")
    assert "| kubernetes | acme | Deployment acme/acme-web | changed | spec.replicas | 2 | 5 |" in md
    assert "a\\|b" in md and "…" in md  # pipes escaped, long values cut
    assert "## Not remediated" in md and "By tenant | acme: 2" in md
    assert "no drift" in report.markdown(_result([]))


def test_html_is_self_contained_and_escaped():
    page = report.html_page(_result(ITEMS), "2026-01-01")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http" not in page.replace("https://", "")  # no external assets
    assert 'class="bad"' in page
    assert 'class="ok"' in report.html_page(_result([]))


def test_counts():
    c = check.counts(ITEMS, 3, 1)
    assert c["total"] == 2 and c["by_kind"] == {"-": 2} and c["by_tenant"] == {"acme": 2}
