#!/usr/bin/env bash
# The side-by-side comparison of durafn with its peers: builds the runner and runs it.
#
#   bench/peers/run.sh            the full comparison (installs every peer; under 20 minutes)
#   bench/peers/run.sh --smoke    tiny sizes, only peers already installed or cheap to install
#
# Other options (--runs N, --only ID,.., --no-install) are passed on; see README.md beside this.
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
