#!/usr/bin/env bash
# The test command (`npm test`). On a fresh Debian machine, as root, it:
#   1. installs the Debian packages the end-to-end tests drive (apt-get update once, only if needed),
#   2. starts dockerd when no daemon answers (bounded wait),
#   3. builds dist/berth (`npm run build`) and exports BERTH_BIN so the tests run the binary,
#   4. runs `bun test` over tests/ (extra arguments are forwarded) and exits with its status.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

log() { printf '[tests/run.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    log "need root to run: $*"
    return 1
  fi
}

# --- 1. Debian packages ---------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
packages=(docker.io skopeo docker-registry busybox-static apache2-utils)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing missing packages: ${missing[*]}"
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. Docker daemon -------------------------------------------------------------------------
# The docker CLI may be newer than Debian's daemon: use the legacy builder (there is no buildx).
export DOCKER_BUILDKIT=0
export DOCKER_CLI_HINTS=false
if ! timeout 20 docker info >/dev/null 2>&1; then
  dockerd_log=$(mktemp "${TMPDIR:-/tmp}/berth-dockerd-XXXXXX.log")
  log "no Docker daemon answers; starting dockerd (log: $dockerd_log)"
  as_root setsid nohup dockerd --iptables=false --bridge=none >"$dockerd_log" 2>&1 </dev/null &
  ready=0
  for _ in $(seq 1 60); do
    if timeout 5 docker info >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 1
  done
  if [ "$ready" -ne 1 ]; then
    log "dockerd did not become ready within 60 s; last lines of $dockerd_log:"
    tail -n 30 "$dockerd_log" >&2 || true
    exit 1
  fi
  log "dockerd is ready"
fi

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
