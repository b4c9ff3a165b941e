#!/usr/bin/env python3
"""Cross-checks that keep hand-maintained lists from rotting (run by `make checks` in CI).

- every filter in plugins/filter/*.py has a YAML doc sidecar named after the filter;
- every module supports check mode and documents ``attributes:``;
- every role: defaults are prefixed with the role name (private vars start with ``_``), and
  ``meta/argument_specs.yml`` documents exactly the defaults, with equal default values;
- docs/variables.md (generated from the argument specs) is up to date (``--write`` regenerates it);
- every alert in a Prometheus rule file has a runbook page docs/runbooks/<alert>.md.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def _doc_block(source: str, name: str) -> dict[str, Any] | None:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return yaml.safe_load(value.value)
    return None


def check_filters() -> None:
    for py in sorted((REPO / "plugins" / "filter").glob("*.py")):
        if py.name == "__init__.py":
            continue
        tree = ast.parse(py.read_text())
        names: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Dict):
                        names += [k.value for k in sub.keys if isinstance(k, ast.Constant)]
        if not names:
            err(f"{py.relative_to(REPO)}: no filters() mapping found")
        for n in names:
            doc = py.parent / f"{n}.yml"
            if not doc.exists():
                err(f"filter {n}: missing documentation sidecar {doc.relative_to(REPO)}")
                continue
            data = yaml.safe_load(doc.read_text())
            for key in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                if key not in data:
                    err(f"{doc.relative_to(REPO)}: missing {key}")
            if data.get("DOCUMENTATION", {}).get("name") != n:
                err(f"{doc.relative_to(REPO)}: DOCUMENTATION.name must be {n!r}")


def check_modules() -> None:
    for py in sorted((REPO / "plugins" / "modules").glob("*.py")):
        if py.name == "__init__.py":
            continue
        rel = py.relative_to(REPO)
        src = py.read_text()
        doc = _doc_block(src, "DOCUMENTATION")
        if doc is None:
            err(f"{rel}: no DOCUMENTATION")
            continue
        attrs = doc.get("attributes") or {}
        if "check_mode" not in attrs:
            err(f"{rel}: DOCUMENTATION.attributes.check_mode missing")
        if "supports_check_mode=True" not in src.replace(" ", ""):
            err(f"{rel}: AnsibleModule(..., supports_check_mode=True) missing")
        # no_log on secret-looking options is enforced by ansible-test validate-modules (no-log-needed).


def check_roles() -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for role in sorted(p for p in (REPO / "roles").iterdir() if p.is_dir()) if (REPO / "roles").exists() else []:
        name = role.name
        defaults_file = role / "defaults" / "main.yml"
        spec_file = role / "meta" / "argument_specs.yml"
        defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
        defaults = defaults or {}
        if not spec_file.exists():
            err(f"roles/{name}: meta/argument_specs.yml missing")
            continue
        spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]
        options = spec.get("options") or {}
        specs[name] = spec
        for var in defaults:
            if not var.startswith(f"{name}_"):
                err(f"roles/{name}: default {var!r} is not prefixed with '{name}_'")
            if var not in options:
                err(f"roles/{name}: default {var!r} is not documented in meta/argument_specs.yml")
            elif "default" in options[var] and options[var]["default"] != defaults[var]:
                err(f"roles/{name}: default of {var!r} differs between defaults/main.yml and argument_specs")
            elif "default" not in options[var] and defaults[var] is not None:
                err(f"roles/{name}: argument_specs for {var!r} lacks default {defaults[var]!r}")
        for var, opt in options.items():
            if var not in defaults and not opt.get("required"):
                err(f"roles/{name}: argument_specs option {var!r} is neither a default nor required")
            if "description" not in opt:
                err(f"roles/{name}: argument_specs option {var!r} has no description")
        for vars_file in sorted((role / "vars").glob("*.yml")) if (role / "vars").exists() else []:
            for var in yaml.safe_load(vars_file.read_text()) or {}:
                if not var.startswith(f"_{name}_") and not var.startswith(f"__{name}_"):
                    err(f"roles/{name}/vars/{vars_file.name}: private var {var!r} must start with '_{name}_'")
    return specs


def render_variables(specs: dict[str, dict[str, Any]]) -> str:
    out = ["# Variable reference", "",
           "Generated from each role's `meta/argument_specs.yml` by `tools/check_collection.py --write`;",
           "CI fails when it is out of date.", ""]
    for role, spec in sorted(specs.items()):
        out += [f"## Role `erpops.odoo.{role}`", "", spec.get("short_description", ""), "",
                "| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
        for var, opt in sorted((spec.get("options") or {}).items()):
            desc = opt.get("description", "")
            desc = " ".join(desc) if isinstance(desc, list) else str(desc)
            dumped = yaml.safe_dump(opt.get("default"), default_flow_style=True, width=1000)
            default = "(required)" if opt.get("required") else f"`{dumped.strip().removesuffix('...').strip()}`"
            cells = [f"`{var}`", str(opt.get("type", "str")), default, desc]
            out.append("| " + " | ".join(c.replace("|", r"\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def check_variables_doc(specs: dict[str, dict[str, Any]], write: bool) -> None:
    target = REPO / "docs" / "variables.md"
    text = render_variables(specs)
    if write:
        target.write_text(text)
    elif not target.exists() or target.read_text() != text:
        err("docs/variables.md is out of date: run `python tools/check_collection.py --write`")


def check_runbooks() -> None:
    rule_files = sorted(REPO.glob("roles/*/files/**/*.rules.yml"))
    rule_files += sorted(REPO.glob("roles/*/templates/**/*.rules.yml"))
    for rules in rule_files:
        try:
            data = yaml.safe_load(rules.read_text())
        except yaml.YAMLError:
            continue  # templated rule files are checked by promtool after rendering
        for group in (data or {}).get("groups", []):
            for rule in group.get("rules", []):
                alert = rule.get("alert")
                if alert and not (REPO / "docs" / "runbooks" / f"{alert}.md").exists():
                    err(f"{rules.relative_to(REPO)}: alert {alert} has no docs/runbooks/{alert}.md")


def main() -> int:
    check_filters()
    check_modules()
    specs = check_roles()
    check_variables_doc(specs, write="--write" in sys.argv)
    check_runbooks()
    for e in errors:
        print(f"check_collection: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
