#!/usr/bin/env bash
# `make demo`: run the main playbooks against the running lab (make lab-up ran first) on inventories/lab and
# print what happened, where, and how to look at it. Every step is a real playbook run; the full output of
# each is kept in .lab/demo/<step>.log and only its summary is printed here.
#
#   1. deploy.yml            three tenants (acme, globex, initech) on the lab cluster, Traefik routers
#   2. deploy.yml again      idempotence: changed=0
#   3. drift.yml             desired vs live: zero drift, Markdown + HTML report
#   4. gate.yml              a high-risk upgrade during a payroll freeze is denied (with the reason),
#                            the same change with break-glass proceeds and is flagged for post-review
#   5. backup.yml            an Odoo-shaped database + filestore for acme, backed up to the lab's S3
#   6. upgrade.yml / rollback.yml   upgrade acme; a failing upgrade of globex rolled back with its database restored;
#                            acme rolled back to its previous release
#   7. restore.yml           production -> staging on Kubernetes: acme's newest backup into globex, neutralized
#                            (SQL path + the image's `odoo neutralize` Job), instance re-applied
#   8. dr_test.yml           restore the latest backup into a scratch database, validate, measure RTO/RPO
#   9. rotate_credentials.yml   the integration inventory report (overdue credentials), nothing rotated
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
[ -f .lab/env ] || { echo "[demo] .lab/env missing: run make lab-up first" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. .lab/env
set +a
out=.lab/demo
rm -rf "$out"; mkdir -p "$out"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
# every play of the demo leaves a line in the release audit trail (erpops.odoo.release_audit)
export ANSIBLE_CALLBACKS_ENABLED=erpops.odoo.release_audit ERPOPS_AUDIT_LOG="$repo/$out/audit.jsonl"
kubectl=${LAB_KUBECTL:-kubectl}
t_start=$SECONDS

say() { printf '\n=== [demo] %s\n' "$*"; }
# play STEP PLAYBOOK ARGS... : run a playbook, keep its log, print its recap; fail the demo when it fails
play() {
  local step=$1 pb=$2; shift 2
  local log="$out/$step.log" t0=$SECONDS rc=0
  ansible-playbook -i inventories/lab "playbooks/$pb" "$@" >"$log" 2>&1 || rc=$?
  sed -n '/PLAY RECAP/,$p' "$log" | sed '/^$/d' | sed 's/^/    /'
  echo "    ($pb: $((SECONDS - t0))s, rc=$rc, full log: $log)"
  return "$rc"
}
# recap_total LOG KEY : sum of KEY= over all hosts of the last PLAY RECAP
recap_total() { sed -n '/PLAY RECAP/,$p' "$1" | grep -o "$2=[0-9]*" | cut -d= -f2 | paste -sd+ | bc; }

say "1/9 deploy three tenants (playbooks/deploy.yml)"
play 1-deploy deploy.yml
say "2/9 deploy again: nothing may change"
play 2-deploy-again deploy.yml
changed=$(recap_total "$out/2-deploy-again.log" changed)
echo "    second run: changed=$changed"
[ "$changed" = 0 ] || { echo "[demo] the second deploy changed something" >&2; exit 1; }

say "3/9 drift check (playbooks/drift.yml)"
play 3-drift drift.yml
grep -E '"drifted"|drift: ' "$out/3-drift.log" | head -5 | sed 's/^ */    /' || true

say "4/9 release gate (playbooks/gate.yml): a high-risk upgrade during the payroll freeze"
gate=(-e @inventories/examples/governance/change.yml -e release_gate_at=2025-03-27T22:30:00+01:00)
if play 4-gate-denied gate.yml "${gate[@]}"; then
  echo "[demo] the gate let a high-risk change through a freeze" >&2; exit 1
fi
grep -oE 'denied[^"]*|reasons?[^"]*' "$out/4-gate-denied.log" | head -4 | sed 's/^/    /' || true
say "4/9 the same change with break-glass: proceeds, flagged for post-review"
play 4-gate-break-glass gate.yml "${gate[@]}" -e release_gate_break_glass=true \
  -e "release_gate_break_glass_reason='demo: payroll export broken on site'" || true
grep -oE 'break[-_ ]glass[^"]*' "$out/4-gate-break-glass.log" | sort -u | head -3 | sed 's/^/    /' || true

say "5/9 back up acme (Odoo-shaped database + filestore) to the lab S3 (playbooks/backup.yml)"
python - <<'PY' >"$out/5-fixture.log"
import os, sys
sys.path.insert(0, "tests/support")
import odoo_fixture
import psycopg
with psycopg.connect("", dbname="postgres") as c:  # databases an earlier demo's failed upgrade kept aside
    aside = [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname ~ '^(acme|globex)_old_'")]
for name in aside:
    odoo_fixture.drop(name)
print(odoo_fixture.create("acme", os.path.join(".lab", "demo", "data"), 8))
print(odoo_fixture.create("globex", os.path.join(".lab", "demo", "data"), 2))
with psycopg.connect("", dbname="postgres", autocommit=True) as c:  # the roles Odoo connects as (restore owner)
    for role in ("odoo_acme", "odoo_globex"):
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            c.execute("CREATE ROLE %s NOLOGIN" % role)
PY
echo "    created databases acme and globex with their filestores ($(head -1 "$out/5-fixture.log" | cut -c1-100))"
fs="$repo/$out/data/filestore/acme"
play 5-backup backup.yml -l acme -e "odoo_backup_filestore_dir=$fs"
grep -oE 'acme: backup [^ ]+ at [^ "]+' "$out/5-backup.log" | head -1 | sed 's/^/    /' || true

say "6/9 upgrade acme to a new image (playbooks/upgrade.yml): backup, module-update Job, rollout, release"
new_image=registry.lab.invalid/odoo:17.0-20261204
play 6-upgrade upgrade.yml -l acme -e odoo_upgrade_image=$new_image -e '{"odoo_upgrade_modules": ["sale", "stock"]}' \
  -e odoo_change_id=DEMO-UPGRADE
"$kubectl" --kubeconfig "$KUBECONFIG" -n acme-lab get deploy acme-lab-web \
  -o jsonpath='    acme web image now: {.spec.template.spec.containers[0].image}{"\n"}'
say "6/9 upgrade globex with a failing module-update Job (kwok fails it): automatic rollback + database restore"
if play 6-upgrade-fails upgrade.yml -l globex -e odoo_upgrade_image=$new_image \
     -e '{"odoo_upgrade_job_pod_labels": {"lab.erpops.io/fail": "true"}}'; then
  echo "[demo] the failing upgrade did not fail" >&2; exit 1
fi
grep -oE '(rolled back automatically to revision [0-9]+ \(recorded as release [0-9]+, image [^)]*\)|Database globex restored[^"]*\))' "$out/6-upgrade-fails.log" | head -2 \
  | sed 's/^/    /' || true
say "6/9 roll acme back to its previous release (playbooks/rollback.yml)"
play 6-rollback rollback.yml -l acme -e odoo_rollback_to=previous
grep -oE 'revision [0-9]+ re-applied as release [0-9]+' "$out/6-rollback.log" | head -1 | sed 's/^/    /' || true

say "7/9 production -> staging on Kubernetes: acme's newest backup restored into globex (playbooks/restore.yml)"
echo "    cron stopped, checksums verified, restored, validated, neutralized (SQL + the image's neutralize Job), re-applied"
play 7-restore-k8s restore.yml -l globex -e restore_from_tenant=acme -e restore_overwrite=true \
  -e restore_release_gate=false
grep -oE 'globex: backup [^"]*' "$out/7-restore-k8s.log" | head -1 | sed 's/^/    /' || true
"$kubectl" --kubeconfig "$KUBECONFIG" -n globex-lab get jobs -l app.kubernetes.io/component=neutralize \
  -o custom-columns='JOB:.metadata.name,COMMAND:.spec.template.spec.containers[0].args,SUCCEEDED:.status.succeeded' \
  | sed 's/^/    /' || true

say "8/9 DR test: restore the latest acme backup into a scratch database, validate, RTO/RPO (playbooks/dr_test.yml)"
play 8-dr-test dr_test.yml -l acme -e "dr_test_report_dir=$repo/$out/dr" || true
grep -oE 'RTO [0-9][^"]*' "$out/8-dr-test.log" | head -2 | sed 's/^/    /' || true

say "9/9 integration credentials: overdue report (playbooks/rotate_credentials.yml, nothing rotated)"
play 9-credentials rotate_credentials.yml -e rotate_credentials_select=none
grep -oE 'overdue: [^"]*' "$out/9-credentials.log" | head -3 | sed 's/^/    /' || true

say "what is running now"
echo "  Kubernetes (kwok nodes, real API server $LAB_KUBE_API, $LAB_KUBE_VERSION):"
"$kubectl" --kubeconfig "$KUBECONFIG" get nodes -L topology.kubernetes.io/zone 2>&1 | sed 's/^/    /'
"$kubectl" --kubeconfig "$KUBECONFIG" get deployments,hpa,pdb -A -l app.kubernetes.io/managed-by=erpops.odoo 2>&1 \
  | sed 's/^/    /'
echo "  Traefik routers (its own API, $LAB_TRAEFIK_API/api/http/routers):"
curl -s --noproxy '*' "$LAB_TRAEFIK_API/api/http/routers" \
  | python -c 'import json,sys; [print("    %-60s %s" % (r["name"], r.get("rule",""))) for r in json.load(sys.stdin) if "@kubernetescrd" in r["name"]]' \
  || true
echo "  Reports: drift $repo/.lab/reports/drift-latest.html, DR $repo/$out/dr, audit trail $repo/$out/audit.jsonl ($(wc -l <"$out/audit.jsonl") plays)"
cat <<EOF

=== [demo] done in $((SECONDS - t_start))s. Look around:
  set -a; . .lab/env; set +a
  \$LAB_KUBECTL get all -n acme-lab                           # one tenant's Odoo (web, cron, websocket)
  ansible-playbook -i inventories/lab playbooks/deploy.yml --check --diff -e '{"odoo_web": {"replicas": 4}}' -l acme
  ansible-playbook -i inventories/lab playbooks/drift.yml     # after editing something with kubectl
  less $out/*.log                                             # every playbook run of this demo
  make lab-down                                               # stop everything
EOF
