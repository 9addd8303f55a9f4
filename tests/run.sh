#!/usr/bin/env bash
# The test command (`npm test`). On a fresh Debian machine, as root, it:
#   1-2. prepares the machine (tests/machine.sh: Debian packages, a running dockerd),
#   3. builds dist/berth (`npm run build`) and exports BERTH_BIN so the tests run the binary,
#   4. runs `bun test` over tests/ (extra arguments are forwarded) and exits with its status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

# shellcheck source=tests/machine.sh
source tests/machine.sh
log() { printf '[tests/run.sh] %s\n' "$*" >&2; }

# --- 3. Build the binary the tests run ------------------------------------------------------------
if [ ! -x node_modules/.bin/bun ]; then
  log "node_modules missing; installing"
  if [ -f package-lock.json ]; then npm ci; else npm install; fi
fi
npm run build
if [ ! -x dist/berth ]; then
  log "npm run build did not produce dist/berth"
  exit 1
fi
export BERTH_BIN="$repo/dist/berth"
log "BERTH_BIN=$BERTH_BIN"

# --- 4. bun test ---------------------------------------------------------------------------------
# Forwarded arguments that name test files (patterns) replace the default ./tests; options alone
# (e.g. --timeout=1000, -t NAME) keep the whole tests/ tree.
has_pattern=0
expect_value=0
for arg in "$@"; do
  if [ "$expect_value" -eq 1 ]; then
    expect_value=0
    continue
  fi
  case "$arg" in
    -t | --test-name-pattern | --timeout | --seed | --rerun-each | --retry | --reporter | \
      --reporter-outfile | --max-concurrency | --path-ignore-patterns | --shard | --timings | \
      --coverage-reporter | --coverage-dir | --preload)
      expect_value=1 ;;
    -*) ;;
    *) has_pattern=1 ;;
  esac
done
targets=()
[ "$has_pattern" -eq 0 ] && targets=(./tests)

set +e
# --no-orphans: when bun test ends, no Berth or docker-registry process it started outlives it.
node_modules/.bin/bun test --no-orphans --timeout 120000 "${targets[@]}" "$@"
status=$?
set -e
exit "$status"
