#!/usr/bin/env python3
"""Run every benchmark in bench/*.py (each has ``main() -> dict``) and write bench/results/<name>.json.

Each benchmark measures the collection against a baseline in the same run and reports ratios,
so results compare across machines. ``bench/run.py deploy drift`` runs only those.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "build" / "collections"))
sys.path.insert(0, str(REPO))


def main() -> int:
    wanted = set(sys.argv[1:])
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    failed = 0
    for path in sorted(BENCH.glob("*.py")):
        if path.name in ("run.py", "__init__.py") or path.name.startswith("_"):
            continue
        name = path.stem
        if wanted and name not in wanted:
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if not hasattr(mod, "main"):
            continue
        print(f"[bench] {name}: running", flush=True)
        t0 = time.monotonic()
        try:
            result = mod.main()
        except Exception as exc:  # noqa: BLE001 - report every benchmark, then fail at the end
            print(f"[bench] {name}: FAILED: {exc!r}", flush=True)
            failed += 1
            continue
        result.setdefault("benchmark", name)
        result["machine"] = {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                             "platform": platform.platform()}
        result["wall_seconds"] = round(time.monotonic() - t0, 2)
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        ratios = dict(result.get("ratios", {}).items())
        print(f"[bench] {name}: done in {result['wall_seconds']}s, ratios {ratios}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
