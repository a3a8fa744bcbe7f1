#!/usr/bin/env bash
# Peak resident memory of the guard function's process during the 300-exposure
# burst test (functions/guard: TestGuardBurstReachesDingTalkWithinTheLimit), to
# size memorySize in s.yaml. Prints the highest VmHWM seen.
set -euo pipefail
cd "$(dirname "$0")/.."
running=$(mktemp)
out=$(mktemp)
(
	while [ -e "$running" ]; do
		for p in $(pgrep -f 'porthygiene-fn-.*/guard/main' || true); do
			grep VmHWM "/proc/$p/status" 2>/dev/null || true
		done
		sleep 0.05
	done | sort -k2 -n | tail -1 >"$out"
) &
sampler=$!
go test -count=1 -run 'TestGuardBurstReachesDingTalkWithinTheLimit' ./functions/guard/ >/dev/null
rm -f "$running"
wait "$sampler"
echo "guard peak RSS: $(cat "$out")"
rm -f "$out"
