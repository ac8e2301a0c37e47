#!/usr/bin/env bash
# The detection replay (Tests/VigieCoreTests/DetectionReplayTests.swift) over traces
# made with other seeds than the shipped one, to see that the thresholds were not
# fitted to one month:   benchmarks/detection/run-seeds.sh [SEED...]   (default 1 2 3 4 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("$@"); [ ${#seeds[@]} -eq 0 ] && seeds=(1 2 3 4 5)
swift build --build-tests >/dev/null
for seed in "${seeds[@]}"; do
  dir=$(mktemp -d)
  python3 fixtures/traces/make-traces.py "$dir" "$seed" >/dev/null
  echo "== seed $seed"
  VIGIE_TRACES="$dir" swift test --skip-build --filter DetectionReplayTests 2>&1 | grep -E '^replay:' | sed -e 's/; trigger:.*other accounts locked:/; other accounts locked:/' || true
  rm -rf "$dir"
done
