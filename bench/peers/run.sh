#!/usr/bin/env bash
# The side-by-side comparison of durafn with its peers: builds the runner and runs it.
#
#   bench/peers/run.sh            the full comparison (installs every peer; under 20 minutes)
#   bench/peers/run.sh --smoke    tiny sizes, only peers already installed or cheap to install
#
# Other options (--runs N, --only ID,.., --no-install) are passed on; see README.md beside this.
# Results go to bench/results/ (latest.* or smoke.*); peers and logs to the cache directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
nice -n 10 cargo build --release --quiet -p durafn-bench --bin compare
exec target/release/compare "$@"
