#!/usr/bin/env bash
# Installs what petset needs on Debian 12: system packages (as root) and the
# Python package with its dependencies in ./.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv python3-pip bubblewrap util-linux iproute2 procps
  mariadb-server mariadb-client mariadb-backup etcd-server etcd-client redis-server
  dnsutils sysbench nftables)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# Pods are bubblewrap sandboxes: a non-root user needs unprivileged user namespaces.
if [ "$(id -u)" -ne 0 ] && ! bwrap --unshare-user --ro-bind / / true 2>/dev/null; then
  echo "setup: bubblewrap cannot create a user namespace for $(id -un); as root run:" >&2
  echo "  sysctl -w kernel.unprivileged_userns_clone=1" >&2
  exit 1
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/petset version --client >/dev/null  # --client: setup must not start a daemon
echo "setup: ready (.venv/bin/petset)"
