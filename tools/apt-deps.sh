#!/usr/bin/env bash
# Install the Debian packages the lab and the tests need. Idempotent and quiet when
# everything is present (one dpkg-query, no apt call).
set -euo pipefail
PKGS=(
  postgresql-15 postgresql-client-15   # lab database, pg_dump/pg_restore
  redis-server                         # lab Redis
  etcd-server                          # Patroni DCS on hosts
  haproxy                              # Patroni write/read endpoints
  pgbackrest                           # WAL archiving / PITR
  prometheus prometheus-postgres-exporter  # promtool, rule tests, exporter e2e
  openssl iproute2 procps psmisc curl
  podman runc debootstrap              # systemd "hosts" for host-level roles
)
missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[apt] installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d: never let the packages start their own system services (the lab runs its own).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[apt] done"
