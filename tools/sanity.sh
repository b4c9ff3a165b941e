#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection at ansible_collections/erpops/odoo
# (ansible-test requires that path layout; a symlink does not satisfy it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${ERPOPS_SANITY_DIR:-$repo/build/sanity}
dest=$work/ansible_collections/erpops/odoo
rm -rf "$work"; mkdir -p "$dest"
# Collection content only (what `ansible-galaxy collection build` ships), tracked or new-not-ignored.
# The lab, tools, bench and pytest suites are checked by ruff and pytest instead: they are not
# Ansible content and are not shipped.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard -- \
    galaxy.yml README.md COPYING meta plugins roles playbooks inventories docs changelogs extensions) \
  | (cd "$repo" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$dest" -xf -
# ansible-test downloads a pip bootstrap script from a host we cannot reach: provide ours.
pipver=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
class P: version = "'"$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"'"
print(g(P)["pip"])')
mkdir -p ~/.ansible/test/cache
cp "$repo/tools/ansible_test_get_pip.py" ~/.ansible/test/cache/get_pip_${pipver//./_}.py
# Collections this one depends on (doc fragments, module_utils imports) must sit beside it under the same
# ansible_collections root, or validate-modules cannot resolve them: link them from the `ansible` package.
# (ansible_collections is a namespace package: PYTHONPATH may put build/collections first; pick the entry
# that really holds the bundled collections.)
site=$(python -c 'import ansible_collections, os
print(next(os.path.dirname(p) for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, "amazon", "aws"))))')
for dep in $(python -c 'import yaml; print(" ".join(yaml.safe_load(open("'"$repo"'/galaxy.yml"))["dependencies"]))'); do
  ns=${dep%%.*}; name=${dep#*.}
  mkdir -p "$work/ansible_collections/$ns"
  ln -sfn "$site/ansible_collections/$ns/$name" "$work/ansible_collections/$ns/$name"
done
cd "$dest"
git init -q && git add -A && git -c user.email=ci@invalid -c user.name=ci commit -qm sanity
pyver=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# Tests that need extra tools/venvs we do not install, with the reason:
#   none skipped beyond what ansible-test itself skips when a tool is missing.
ansible-test sanity --local --python "$pyver" --color no "$@"
