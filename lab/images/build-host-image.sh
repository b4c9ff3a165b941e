#!/usr/bin/env bash
# Build (or reuse) the lab's Debian bookworm "host" image: systemd as PID 1, python3, no sshd
# (Ansible reaches it through the containers.podman.podman connection).
#
# The packages host roles install (PostgreSQL 15, Patroni, etcd, HAProxy, Redis, ...) are downloaded
# into the image's apt cache but NOT installed, so roles really install them, and the lab nodes can
# run on a network with no route out of the machine.
#
# Podman storage lives outside the repo under ${ERPOPS_LAB_CACHE:-~/.cache/erpops-lab}/podman and the
# image is tagged with a hash of this script's inputs, so later runs reuse it.
#
# Usage: build-host-image.sh            build if missing; last lines: IMAGE=... and PODMAN_ARGS=...
#        build-host-image.sh --paths    only print IMAGE=... and PODMAN_ARGS=... (no build)
set -euo pipefail

CACHE=${ERPOPS_LAB_CACHE:-$HOME/.cache/erpops-lab}
MIRROR=${ERPOPS_LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${ERPOPS_LAB_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
PODMAN_ROOT=$CACHE/podman/root
PODMAN_RUNROOT=${ERPOPS_LAB_PODMAN_RUNROOT:-/run/erpops-lab/podman}
PODMAN_TMP=$CACHE/podman/tmp
PODMAN_NETCONF=$CACHE/podman/networks
# Installed in the image: what any Debian VM has, plus what Ansible modules need on the target.
BASE_PKGS=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,procps,iproute2,ca-certificates,iputils-ping,less,netbase
# Downloaded only (installed by the roles).
CACHED_PKGS="postgresql-15 postgresql-client-15 patroni python3-etcd python3-psycopg2 etcd-server etcd-client
  haproxy redis-server python3-cryptography pgbackrest acl"

# Bump RECIPE when the build steps below change; the package lists and mirrors are hashed too.
RECIPE=1
KEY=$(echo "$RECIPE|$BASE_PKGS|$CACHED_PKGS|$MIRROR|$SECURITY" | sha256sum | cut -c1-12)
IMAGE=localhost/erpops-lab-host:$KEY
PODMAN=(podman --root "$PODMAN_ROOT" --runroot "$PODMAN_RUNROOT" --tmpdir "$PODMAN_TMP" --network-config-dir "$PODMAN_NETCONF")

paths() {
  echo "IMAGE=$IMAGE"
  echo "PODMAN_ARGS=--root $PODMAN_ROOT --runroot $PODMAN_RUNROOT --tmpdir $PODMAN_TMP --network-config-dir $PODMAN_NETCONF"
}
if [ "${1:-}" = "--paths" ]; then paths; exit 0; fi

say() { echo "[lab-image] $*" >&2; }
mkdir -p "$PODMAN_ROOT" "$PODMAN_RUNROOT" "$PODMAN_TMP" "$PODMAN_NETCONF" "$CACHE/logs"

if "${PODMAN[@]}" image exists "$IMAGE"; then
  say "reusing $IMAGE"
  paths
  exit 0
fi

for tool in debootstrap podman runc; do
  command -v "$tool" >/dev/null || { say "$tool not found: run tools/apt-deps.sh"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { say "debootstrap needs root"; exit 1; }

t0=$(date +%s)
WORK=$(mktemp -d "$CACHE/podman/build.XXXXXX")
LOG=$CACHE/logs/build-host-image-$KEY.log
trap 'umount -l "$WORK/root/proc" 2>/dev/null || true; rm -rf "$WORK"' EXIT
ROOT=$WORK/root

say "debootstrap bookworm (minbase + systemd, python3) -> $ROOT (log: $LOG)"
debootstrap --variant=minbase --include="$BASE_PKGS" bookworm "$ROOT" "$MIRROR" >"$LOG" 2>&1 \
  || { tail -20 "$LOG" >&2; exit 1; }
say "debootstrap done in $(( $(date +%s) - t0 ))s"

cat >"$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
SOURCES
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
say "apt-get update + download (not install): $(echo $CACHED_PKGS)"
{
  chroot "$ROOT" apt-get update -qq
  chroot "$ROOT" apt-get upgrade -y -qq
  # shellcheck disable=SC2086
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --download-only $CACHED_PKGS
} >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
umount "$ROOT/proc"

# A container, not a VM: no getty, no udev triggers; a fresh machine-id on first boot.
chroot "$ROOT" systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-logind.service >>"$LOG" 2>&1 || true
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/etc/resolv.conf"
echo "erpops-lab-host" >"$ROOT/etc/hostname"
say "$(ls "$ROOT/var/cache/apt/archives" | grep -c '\.deb$') packages cached in the image; importing"

tar -C "$ROOT" -c . | "${PODMAN[@]}" import \
  --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' --change 'STOPSIGNAL SIGRTMIN+3' \
  - "$IMAGE" >>"$LOG" 2>&1 || { tail -20 "$LOG" >&2; exit 1; }
say "built $IMAGE in $(( $(date +%s) - t0 ))s"
paths
