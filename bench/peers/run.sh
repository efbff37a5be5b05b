#!/usr/bin/env bash
# The side-by-side comparison of durafn with its peers: builds the runner and runs it.
#
#   bench/peers/run.sh            the full comparison, medians of 3 runs (about 40 minutes)
#   bench/peers/run.sh --smoke    tiny sizes, one run: checks that every system runs
#
# Both install every peer into the cache first (minutes the first time, seconds after). Other
# options (--runs N, --only ID,.., --no-install, --strict) are passed on; see README.md beside
# this.
# Results go to bench/results/ (latest.* or smoke.*); peers and logs to the cache directory.
# The smoke run uses a debug build, which reuses what `cargo test` built; the full run, release.
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=release
for arg in "$@"; do
  if [ "$arg" = "--smoke" ]; then profile=dev; fi
done
nice -n 10 cargo build --quiet --profile "$profile" -p durafn-bench --bin compare
dir=release
if [ "$profile" = dev ]; then dir=debug; fi
exec "target/$dir/compare" "$@"
