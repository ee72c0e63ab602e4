#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager from Debian's own
# `kubernetes` source package (upstream v1.20.2 with vendor/, builds offline)
# and caches them outside the repository, keyed by the source version, so only
# the first run pays the ~3 minute build.
#
#   scripts/kube-apiserver.sh build     build (or reuse) and print the bin dir
#   scripts/kube-apiserver.sh bin-dir   print the bin dir if built, else exit 1
#   scripts/kube-apiserver.sh run DIR   start etcd + apiserver + controller-manager
#                                       in the foreground (state and kubeconfig in
#                                       DIR); Ctrl-C stops them
#
# Needs root for apt (deb-src entry, build dependencies). Environment:
#   PETSET_KUBE_CACHE  cache root (default /var/cache/petset)
set -euo pipefail

CACHE_ROOT=${PETSET_KUBE_CACHE:-/var/cache/petset}
BUILD_DEPS=(dpkg-dev make golang-1.19-go golang-github-modern-go-reflect2-dev etcd-server openssl)
DEB_SRC_FILE=/etc/apt/sources.list.d/petset-deb-src.sources
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "kube-apiserver.sh: $*" >&2; }

# A deb-src twin of every deb entry already configured (same mirror, suites,
# keys), so `apt-get source` works without naming any mirror here.
ensure_deb_src() {
  if apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Version:'; then
    return
  fi
  local src=/etc/apt/sources.list.d/debian.sources
  [ -f "$src" ] || { log "no $src to derive a deb-src entry from"; exit 2; }
  log "adding deb-src entries to $DEB_SRC_FILE"
  sed -e 's/^Types: deb$/Types: deb-src/' "$src" >"$DEB_SRC_FILE"
  apt-get update -qq
}

source_version() {
  apt-cache showsrc kubernetes | sed -n 's/^Version: //p' | sort -V | tail -1
}

ensure_build_deps() {
  local missing=() p
  for p in "${BUILD_DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

bin_dir_for() { echo "$CACHE_ROOT/kube-$1/bin"; }

cached_bin_dir() {
  local d
  for d in "$CACHE_ROOT"/kube-*/bin; do
    if [ -x "$d/kube-apiserver" ] && [ -x "$d/kube-controller-manager" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

build() {
  if d=$(cached_bin_dir); then
    echo "$d"
    return
  fi
  [ "$(id -u)" -eq 0 ] || { log "the first build needs root (apt)"; exit 2; }
  # one build at a time on this machine; a waiter then finds the cached result
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/build.lock"
  flock 9
  if d=$(cached_bin_dir); then
    echo "$d"
    return
  fi
  ensure_deb_src
  ensure_build_deps
  local version work bin
  version=$(source_version)
  [ -n "$version" ] || { log "apt has no source package 'kubernetes'"; exit 2; }
  bin=$(bin_dir_for "$version")
  work="$CACHE_ROOT/build-$version"
  rm -rf "$work"
  mkdir -p "$work"
  log "fetching source kubernetes $version into $work"
  (cd "$work" && apt-get source -qq "kubernetes=$version" >"$work/apt-source.log" 2>&1) \
    || { cat "$work/apt-source.log" >&2; exit 2; }
  local tree
  tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -1)
  [ -d "$tree/vendor" ] || { log "source tree $tree has no vendor/"; exit 2; }
  # Vendored reflect2 v1.0.1 corrupts memory with Go >= 1.18 (SIGSEGV on the
  # first custom-resource create); Debian's 1.0.2 is API-compatible.
  local r2=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -d "$r2" ] || { log "missing $r2 (golang-github-modern-go-reflect2-dev)"; exit 2; }
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  cp -r "$r2" "$tree/vendor/github.com/modern-go/reflect2"
  rm -rf "$tree/vendor/github.com/modern-go/reflect2/.git" "$tree/vendor/github.com/modern-go/reflect2/"*_test.go
  log "building kube-apiserver and kube-controller-manager (about 3 minutes, 1.5 GB)"
  (
    cd "$tree"
    export PATH=/usr/lib/go-1.19/bin:$PATH GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0
    export GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=on
    # No .git in a source package: give hack/lib/version.sh the version so
    # discovery reports v1.20.2 rather than v0.0.0-master.
    local upstream=${version##*really}
    export KUBE_GIT_VERSION="v${upstream%%-*}" KUBE_GIT_TREE_STATE=clean
    export KUBE_GIT_COMMIT=0000000000000000000000000000000000000000
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$work/build.log" 2>&1
  ) || { tail -40 "$work/build.log" >&2; log "build failed: $work/build.log"; exit 3; }
  mkdir -p "$bin.tmp"
  cp "$tree"/_output/local/bin/linux/*/kube-apiserver "$tree"/_output/local/bin/linux/*/kube-controller-manager "$bin.tmp/"
  rm -rf "$bin" && mv "$bin.tmp" "$bin"
  rm -rf "$work"
  log "built into $bin"
  echo "$bin"
}

run() {
  local dir=${1:?usage: run DIR}
  local bin
  bin=$(build)
  exec "$HERE/../.venv/bin/python" -m tests.acceptance.kube.apiserver --bin-dir "$bin" --dir "$dir"
}

case "${1:-}" in
  build) build ;;
  bin-dir) cached_bin_dir ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 build|bin-dir|run DIR" >&2; exit 2 ;;
esac
