#!/usr/bin/env bash
# Prepares this machine for the end-to-end tests and the benchmarks (sourced by tests/run.sh
# and bench/run.sh). As root on a fresh Debian machine it:
#   1. installs the Debian packages they drive (apt-get update once, only if something is missing);
#      extra package names can be given in BERTH_EXTRA_PACKAGES (the benchmarks add wrk),
#   2. starts dockerd when no daemon answers (bounded wait).
log() { printf '[tests/machine.sh] %s\n' "$*" >&2; }

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
packages=(docker.io skopeo docker-registry busybox-static apache2-utils ${BERTH_EXTRA_PACKAGES:-})
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
  dockerd_pid=$!
  ready=0
  for _ in $(seq 1 60); do
    if timeout 5 docker info >/dev/null 2>&1; then
      ready=1
      break
    fi
    # dockerd exits at once where it cannot run (no privileges for its mounts and cgroups, as in
    # an unprivileged container): say so now instead of waiting out the minute
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      wait "$dockerd_pid" 2>/dev/null
      log "dockerd exited (status $?) before it was ready; the tests need a VM or a privileged container. Last lines of $dockerd_log:"
      tail -n 30 "$dockerd_log" >&2 || true
      exit 1
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

