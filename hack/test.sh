#!/usr/bin/env bash
# THE test command: works from a fresh clone on a fresh (Debian) machine.
#   hack/test.sh [pytest args...]
# Creates .venv if missing, installs the package with its test extras, builds (or reuses the cached)
# local Kubernetes control plane binaries, then runs pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/tmp/kubeuser-venv.err; then
    # Debian's python3 ships venv/ensurepip separately.
    echo "[test.sh] python3 -m venv failed; installing python3-venv" >&2
    rm -rf .venv
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null ||
      { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
    "$PYTHON" -m venv .venv
  fi
fi

# Reinstall only when pyproject.toml changed since the last install into this venv.
stamp=.venv/.kubeuser-install-stamp
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] || ! .venv/bin/python -c 'import kubeuser, pytest' 2>/dev/null; then
  echo "[test.sh] pip install -e '.[test]'" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  printf '%s\n' "$want" >"$stamp"
fi

hack/local-cluster.sh build

exec .venv/bin/python -m pytest "$@"
