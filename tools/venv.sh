#!/usr/bin/env bash
# Create (once) the project's Python virtualenv from requirements.lock and print its path.
# The venv lives outside the repository, keyed by the hash of the lock file, so a fresh
# clone on the same machine reuses it and `make test` a second time installs nothing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${ERPOPS_PYTHON:-python3}
hash=$(cat "$repo/requirements.lock" | sha256sum | cut -c1-12)
pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv=${ERPOPS_VENV:-$HOME/.cache/erpops-odoo/venv-py$pyver-$hash}
if [ -x "$venv/bin/python" ] && [ -f "$venv/.complete" ]; then
  echo "$venv"; exit 0
fi
echo "[venv] creating $venv from requirements.lock (first time: ~2 min)" >&2
# An interrupted install leaves no .complete marker: start over.
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip==26.3 >&2
# --no-deps: the lock is complete, so pip does no resolution at all (fast and deterministic).
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$repo/requirements.lock" >&2
"$venv/bin/pip" check >&2
touch "$venv/.complete"
echo "[venv] ready" >&2
echo "$venv"
