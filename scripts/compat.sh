#!/usr/bin/env bash
# MLflow's own REST tests (tracking, registry, artifact proxy; ../shared/mlflow-suite) against
# this checkout's `mlpipex server`. Fails only on a regression: fewer tests passing than the
# floor recorded for the selection in .ci/compat-floor (known failures: docs/compatibility.md).
#
#   scripts/compat.sh full    # all three files (~10-20 min on 2 cores)
#   scripts/compat.sh ci      # the registry and artifact-proxy files (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
selection="${1:-full}"
suite="${MLFLOW_SUITE:-../shared/mlflow-suite}"
case "$selection" in
  full) args=() ;;
  ci) args=(-k "test_model_registry or test_mlflow_artifacts") ;;
  *) echo "usage: $0 full|ci" >&2; exit 2 ;;
esac
floor=$(awk -v s="$selection" '$1 == s { print $2 }' .ci/compat-floor)
if [ ! -x "$suite/run.sh" ]; then
  echo "no MLflow suite at $suite: set MLFLOW_SUITE to the mlflow-suite folder" >&2
  exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$suite/run.sh" mlpipex "${args[@]}" 2>&1 | tee "$log" >&2 || true
passed=$(sed -n 's/^mlpipex: \([0-9][0-9]*\) passed.*/\1/p' "$log" | tail -n 1)
if [ -z "$passed" ]; then
  echo "compat: the suite did not report its counts (see above)" >&2
  exit 1
fi
if [ "$passed" -lt "$floor" ]; then
  echo "compat: $passed MLflow tests pass, fewer than the floor of $floor ($selection): a regression" >&2
  exit 1
fi
echo "compat: $passed MLflow tests pass ($selection; floor $floor)"
