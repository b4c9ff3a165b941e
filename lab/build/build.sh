#!/usr/bin/env bash
# Build the lab's Go binaries from the Go module proxy into a cache outside
# the repository, keyed by version:
#   ${ERPOPS_LAB_CACHE:-$HOME/.cache/erpops-lab}/bin/<component>-<version>/
# Each component is built in a throwaway module under .../build/<component>-<version>/.
# Idempotent: a component whose binaries exist and answer their version command
# is skipped. Binaries are built into a temporary directory and renamed into
# place only when complete.
#
# usage: lab/build/build.sh [kube|etcd|kwok|traefik|all|paths]...
#   paths: print KEY=VALUE lines with versions, binary dirs and module source dirs
# env:   ERPOPS_LAB_CACHE, ERPOPS_K8S_VERSION, ERPOPS_K8S_STAGING_VERSION,
#        ERPOPS_ETCD_VERSION, ERPOPS_KWOK_VERSION, ERPOPS_TRAEFIK_VERSION, ERPOPS_CNPG_VERSION,
#        ERPOPS_LAB_BUILD_P (go build -p, default 2), ERPOPS_LAB_BUILD_TIME=1
#        (wrap builds in /usr/bin/time -v and keep the report next to the log)
set -euo pipefail

CACHE="${ERPOPS_LAB_CACHE:-$HOME/.cache/erpops-lab}"
K8S_VERSION="${ERPOPS_K8S_VERSION:-v1.36.3}"
K8S_STAGING_VERSION="${ERPOPS_K8S_STAGING_VERSION:-v0.${K8S_VERSION#v1.}}"
ETCD_VERSION="${ERPOPS_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${ERPOPS_KWOK_VERSION:-v0.8.0}"
TRAEFIK_VERSION="${ERPOPS_TRAEFIK_VERSION:-v3.6.12}"
# not built: only its CRD manifests are used (config/crd/bases)
CNPG_VERSION="${ERPOPS_CNPG_VERSION:-v1.30.0}"
BUILD_P="${ERPOPS_LAB_BUILD_P:-2}"

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GONOSUMDB="${GONOSUMDB:-}"

log() { printf '[lab-build] %s\n' "$*" >&2; }
die() { printf '[lab-build] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (Go >= 1.25 needed)"

bindir() { printf '%s/bin/%s-%s' "$CACHE" "$1" "$2"; }

# is_built DIR CMD... : every listed binary exists and answers its version command
is_built() {
  local dir=$1; shift
  local spec name args
  for spec in "$@"; do
    name=${spec%%:*}; args=${spec#*:}
    [[ -x "$dir/$name" ]] || return 1
    # shellcheck disable=SC2086
    timeout 20 "$dir/$name" $args >/dev/null 2>&1 || return 1
  done
}

# run_build LABEL WORKDIR CMD... : run a build step, log to WORKDIR/build.log,
# optionally under /usr/bin/time -v (report kept in WORKDIR/time-<label>.txt)
run_build() {
  local label=$1 work=$2; shift 2
  local start=$SECONDS
  if [[ "${ERPOPS_LAB_BUILD_TIME:-0}" == 1 && -x /usr/bin/time ]]; then
    if ! /usr/bin/time -v -o "$work/time-$label.txt" "$@" >>"$work/build.log" 2>&1; then
      tail -n 40 "$work/build.log" >&2; die "$label failed (log: $work/build.log)"
    fi
  else
    if ! "$@" >>"$work/build.log" 2>&1; then
      tail -n 40 "$work/build.log" >&2; die "$label failed (log: $work/build.log)"
    fi
  fi
  log "$label: done in $((SECONDS - start))s"
}

# fresh_module DIR NAME : (re)create a throwaway module
fresh_module() {
  local work=$1 name=$2
  rm -rf "$work"; mkdir -p "$work"
  (cd "$work" && go mod init "$name" >/dev/null 2>&1) || die "go mod init in $work failed"
  : >"$work/build.log"
}

# gomod_of MODULE@VERSION : path of the module's go.mod in the module cache
gomod_of() {
  local out
  out=$(go mod download -json "$1" 2>&1) || die "go mod download $1 failed: $out"
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("GoMod") or ""); sys.exit(0 if d.get("GoMod") and not d.get("Error") else 1)' <<<"$out" \
    || die "go mod download $1: $out"
}

# dir_of MODULE@VERSION : extracted source directory of a module
dir_of() {
  local out
  out=$(go mod download -json "$1" 2>&1) || die "go mod download $1 failed: $out"
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or "")' <<<"$out"
}

# copy_replaces SRC_GOMOD WORKDIR STAGING_VERSION : copy replace/exclude/godebug
# directives; local replaces (=> ./staging/...) become MODULE@STAGING_VERSION
copy_replaces() {
  local src=$1 work=$2 staging=${3:-}
  python3 - "$src" "$work" "$staging" <<'PY'
import re, subprocess, sys
src, work, staging = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src, encoding="utf-8").read()
def blocks(keyword):
    out = []
    for m in re.finditer(r"^%s\s*\(\n(.*?)^\)" % keyword, text, re.M | re.S):
        out += [l.strip() for l in m.group(1).splitlines()]
    out += [m.group(1).strip() for m in re.finditer(r"^%s\s+([^(\n].*)$" % keyword, text, re.M)]
    return [l.split("//")[0].strip() for l in out if l.strip() and not l.strip().startswith("//")]
edits = []
for line in blocks("replace"):
    left, right = [s.strip() for s in line.split("=>")]
    lmod = left.split()[0]
    if "FORBIDDEN" in right:  # etcd guards against bad imports this way; not needed here
        continue
    if right.startswith("./") or right.startswith("../"):
        if not staging:
            sys.exit("local replace %r but no version to substitute" % line)
        edits.append("-replace=%s=%s@%s" % (lmod, lmod, staging))
    else:
        rparts = right.split()
        target = rparts[0] + ("@" + rparts[1] if len(rparts) > 1 else "")
        lhs = lmod + ("@" + left.split()[1] if len(left.split()) > 1 else "")
        edits.append("-replace=%s=%s" % (lhs, target))
for line in blocks("exclude"):
    mod, ver = line.split()[:2]
    edits.append("-exclude=%s@%s" % (mod, ver))
for line in blocks("godebug"):
    edits.append("-godebug=%s" % line.replace(" ", ""))
if edits:
    subprocess.run(["go", "mod", "edit", *edits], cwd=work, check=True)
print(len(edits))
PY
}

build_kube() {
  local v=$K8S_VERSION sv=$K8S_STAGING_VERSION
  local out; out=$(bindir kube "$v")
  local specs=("kube-apiserver:--version" "kube-controller-manager:--version" "kube-scheduler:--version" "kubectl:version --client")
  if is_built "$out" "${specs[@]}"; then log "kube $v: cached in $out"; return 0; fi
  local work="$CACHE/build/kube-$v"
  log "kube-apiserver/controller-manager/scheduler/kubectl $v: building (first time, ~15-30 min on 2 cores; log $work/build.log)..."
  fresh_module "$work" example.invalid/k8sbuild
  local gomod; gomod=$(gomod_of "k8s.io/kubernetes@$v")
  log "kube $v: copying $(copy_replaces "$gomod" "$work" "$sv") replace/godebug directives (staging -> $sv)"
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
              k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  log "kube $v: resolving modules (go get -tool)..."
  run_build "kube-resolve" "$work" bash -c "cd '$work' && go get -tool $(printf '%s@'"$v"' ' "${pkgs[@]}")"
  local major=${v#v}; major=${major%%.*}
  local minor=${v#v*.}; minor=${minor%%.*}
  local date; date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  local tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  log "kube $v: compiling (go build -p $BUILD_P)..."
  run_build "kube-compile" "$work" bash -c "cd '$work' && go build -p $BUILD_P -ldflags '-s -w$ld' -o '$tmp/' ${pkgs[*]}"
  is_built "$tmp" "${specs[@]}" || die "kube $v: built binaries do not answer --version"
  rm -rf "$out"; mv "$tmp" "$out"
  log "kube $v: ready in $out ($("$out/kube-apiserver" --version))"
}

build_etcd() {
  local v=$ETCD_VERSION out; out=$(bindir etcd "$v")
  if is_built "$out" "etcd:--version"; then log "etcd $v: cached in $out"; return 0; fi
  local work="$CACHE/build/etcd-$v"
  log "etcd $v: building (first time, ~3-5 min; log $work/build.log)..."
  fresh_module "$work" example.invalid/etcdbuild
  local gomod; gomod=$(gomod_of "go.etcd.io/etcd/server/v3@$v")
  # etcd's server module replaces its sibling modules with ../api etc.: use the same version
  log "etcd $v: copying $(copy_replaces "$gomod" "$work" "$v") replace directives"
  run_build "etcd-resolve" "$work" bash -c "cd '$work' && go get -tool go.etcd.io/etcd/server/v3@$v"
  local tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  run_build "etcd-compile" "$work" bash -c "cd '$work' && go build -p $BUILD_P -ldflags '-s -w' -o '$tmp/etcd' go.etcd.io/etcd/server/v3"
  is_built "$tmp" "etcd:--version" || die "etcd $v: built binary does not answer --version"
  rm -rf "$out"; mv "$tmp" "$out"
  log "etcd $v: ready in $out"
}

build_kwok() {
  local v=$KWOK_VERSION out; out=$(bindir kwok "$v")
  if is_built "$out" "kwok:--version"; then log "kwok $v: cached in $out"; return 0; fi
  local work="$CACHE/build/kwok-$v"
  log "kwok $v: building (first time, ~3-5 min; log $work/build.log)..."
  fresh_module "$work" example.invalid/kwokbuild
  local gomod; gomod=$(gomod_of "sigs.k8s.io/kwok@$v")
  log "kwok $v: copying $(copy_replaces "$gomod" "$work" "") replace directives"
  run_build "kwok-resolve" "$work" bash -c "cd '$work' && go get -tool sigs.k8s.io/kwok/cmd/kwok@$v"
  local tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  run_build "kwok-compile" "$work" bash -c "cd '$work' && go build -p $BUILD_P -ldflags '-s -w' -o '$tmp/kwok' sigs.k8s.io/kwok/cmd/kwok"
  is_built "$tmp" "kwok:--version" || die "kwok $v: built binary does not answer --version"
  rm -rf "$out"; mv "$tmp" "$out"
  log "kwok $v: ready in $out"
}

build_traefik() {
  local v=$TRAEFIK_VERSION out; out=$(bindir traefik "$v")
  if is_built "$out" "traefik:version"; then log "traefik $v: cached in $out"; return 0; fi
  local work="$CACHE/build/traefik-$v"
  log "traefik $v: building (first time, ~5-10 min; log $work/build.log)..."
  fresh_module "$work" example.invalid/traefikbuild
  local gomod; gomod=$(gomod_of "github.com/traefik/traefik/v3@$v")
  log "traefik $v: copying $(copy_replaces "$gomod" "$work" "") replace/exclude directives"
  run_build "traefik-resolve" "$work" bash -c "cd '$work' && go get -tool github.com/traefik/traefik/v3/cmd/traefik@$v"
  local tmp="$out.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  local p=github.com/traefik/traefik/v3/pkg/version
  run_build "traefik-compile" "$work" bash -c "cd '$work' && go build -p $BUILD_P -ldflags '-s -w -X $p.Version=$v -X $p.Codename=lab -X $p.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)' -o '$tmp/traefik' github.com/traefik/traefik/v3/cmd/traefik"
  is_built "$tmp" "traefik:version" || die "traefik $v: built binary does not answer 'version'"
  rm -rf "$out"; mv "$tmp" "$out"
  log "traefik $v: ready in $out"
}

# src_of MODULE@VERSION : source dir of a module (downloaded on first use, offline after)
src_of() { (cd "$CACHE" && dir_of "$1"); }

# print KEY=PATH lines (read by lab/services): binary directories and the module
# sources the lab takes data from (Traefik CRDs/RBAC, CloudNativePG CRDs)
print_paths() {
  printf 'K8S_VERSION=%s\nETCD_VERSION=%s\nKWOK_VERSION=%s\nTRAEFIK_VERSION=%s\nCNPG_VERSION=%s\n' \
    "$K8S_VERSION" "$ETCD_VERSION" "$KWOK_VERSION" "$TRAEFIK_VERSION" "$CNPG_VERSION"
  printf 'KUBE_BIN=%s\nETCD_BIN=%s\nKWOK_BIN=%s\nTRAEFIK_BIN=%s\n' \
    "$(bindir kube "$K8S_VERSION")" "$(bindir etcd "$ETCD_VERSION")" \
    "$(bindir kwok "$KWOK_VERSION")" "$(bindir traefik "$TRAEFIK_VERSION")"
  printf 'TRAEFIK_SRC=%s\nCNPG_SRC=%s\n' \
    "$(src_of "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")" \
    "$(src_of "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION")"
}

# locked COMPONENT : build one component while holding its lock, so two `lab up`
# runs (or a manual build) never share a build directory; the second waits and
# then finds the binaries cached
locked() {
  local lock="$CACHE/build/$1.lock" fd
  exec {fd}>"$lock"
  if ! flock -n "$fd"; then
    log "$1: another build is running, waiting for it ($lock)"
    flock "$fd"
  fi
  "build_$1"
  exec {fd}>&-
}

main() {
  [[ $# -gt 0 ]] || set -- all
  mkdir -p "$CACHE/bin" "$CACHE/build"
  local c
  for c in "$@"; do
    case $c in
      kube|etcd|kwok|traefik) locked "$c" ;;
      all) locked etcd; locked kube; locked kwok; locked traefik ;;
      paths) print_paths ;;
      *) die "unknown component '$c' (kube|etcd|kwok|traefik|all|paths)" ;;
    esac
  done
}

main "$@"
