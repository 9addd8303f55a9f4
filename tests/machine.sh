#!/usr/bin/env bash
# Prepares this machine for the end-to-end tests and the benchmarks (sourced by tests/run.sh
# and bench/run.sh). As root on a fresh Debian machine it:
#   1. installs the Debian packages they drive (apt-get update once, only if something is missing;
#      Ceph for the S3 tests: about 75 s more on a fresh machine, each test file starts its own RGW;
#      haproxy for the scale-out tests, which start their own in the foreground);
#      extra package names can be given in BERTH_EXTRA_PACKAGES (the benchmarks add wrk);
#      slapd is installed unconfigured (the LDAP tests start their own on loopback),
#   2. starts dockerd when no daemon answers (bounded wait),
#   3. starts a PostgreSQL server private to the tests on 127.0.0.1:55432 when none answers there
#      (bounded wait) and exports BERTH_TEST_POSTGRES_URL for the metadata tests.
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
packages=(docker.io skopeo docker-registry busybox-static apache2-utils postgresql chromium slapd ldap-utils prometheus systemd ceph-mon ceph-osd radosgw ceph-common uuid-runtime haproxy ${BERTH_EXTRA_PACKAGES:-})
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing missing packages: ${missing[*]}"
  # no directory of the machine's own: the LDAP tests write a slapd configuration of theirs
  # (tests/helpers/ldap.ts), and the system service must not hold port 389
  echo "slapd slapd/no_configuration boolean true" | as_root debconf-set-selections
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


# --- 3. PostgreSQL --------------------------------------------------------------------------------
# A cluster of the tests' own, not Debian's `main`: whether the package started `main` depends on
# systemd and policy-rc.d (containers), and its port and pg_hba.conf are the machine owner's. This
# one lives in the postgres user's home (not /tmp, which tmpfiles cleaners prune), listens on
# 127.0.0.1 only, on a fixed port so that sourcing this file again finds it running, and lets the
# role berth (password berth, CREATEDB) in over TCP. Its data is disposable: a directory that is
# not a complete cluster of the installed version is made anew. PostgreSQL refuses to run as root,
# so everything here runs as the postgres user (made by the package).
# BERTH_TEST_POSTGRES_URL set beforehand to another address names a server of your own instead;
# nothing is started then. Berth processes never see the variable: tests/helpers/server.ts strips
# BERTH_* from their environment, as it does BERTH_BIN.
pg_port=55432
pg_url="postgres://berth:berth@127.0.0.1:$pg_port/postgres"
pg_home=/var/lib/postgresql/berth-tests
pg_data="$pg_home/data"
pg_socket="$pg_home/socket"
pg_log="$pg_home/server.log"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

as_postgres() {
  # from / because the caller's directory may be closed to the postgres user
  (cd / && if [ "$(id -un)" = postgres ]; then "$@"; else as_root runuser -u postgres -- "$@"; fi)
}

# true when role berth logs in over TCP at $1 (connect and statement bounded)
pg_answers() {
  PGCONNECT_TIMEOUT=5 timeout 15 "$pg_bin/psql" "$1" -X -q -t -A -c 'select 1' >/dev/null 2>&1
}

if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  log "no PostgreSQL server programs under /usr/lib/postgresql/*/bin (is the postgresql package installed?)"
  exit 1
fi

if [ -n "${BERTH_TEST_POSTGRES_URL:-}" ] && [ "$BERTH_TEST_POSTGRES_URL" != "$pg_url" ]; then
  if ! pg_answers "$BERTH_TEST_POSTGRES_URL"; then
    log "BERTH_TEST_POSTGRES_URL is set to a server that does not answer (or refuses the login); unset it to use the tests' own server"
    exit 1
  fi
  log "using the PostgreSQL server named by BERTH_TEST_POSTGRES_URL"
  export BERTH_TEST_POSTGRES_URL
elif pg_answers "$pg_url"; then
  export BERTH_TEST_POSTGRES_URL="$pg_url"
else
  pg_version=$(basename "$(dirname "$pg_bin")")
  if [ "$(as_postgres cat "$pg_data/PG_VERSION" 2>/dev/null)" != "$pg_version" ]; then
    log "creating a PostgreSQL $pg_version cluster for the tests in $pg_data"
    as_root rm -rf "$pg_home"
    as_root install -d -o postgres -g postgres -m 0700 "$pg_home" "$pg_socket"
    # C locale: present on every machine, and text sorts bytewise as in SQLite
    if ! as_postgres "$pg_bin/initdb" -D "$pg_data" --no-locale --encoding=UTF8 \
      --auth-local=peer --auth-host=scram-sha-256 --username=postgres >"${TMPDIR:-/tmp}/berth-initdb.log" 2>&1; then
      log "initdb failed; its output:"
      cat "${TMPDIR:-/tmp}/berth-initdb.log" >&2
      exit 1
    fi
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    log "starting PostgreSQL $pg_version on 127.0.0.1:$pg_port (log: $pg_log)"
    # -w -t 60: pg_ctl waits until the server accepts connections, at most a minute; -l detaches
    # the server's output from ours (a pipe such as CI's tee is not held open)
    if ! as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_socket -c max_connections=200" >/dev/null; then
      log "PostgreSQL did not start within 60 s (remove $pg_home to start over); last lines of $pg_log:"
      as_postgres tail -n 30 "$pg_log" >&2 || true
      exit 1
    fi
  fi
  # the role, made or repaired; over the socket as postgres (peer authentication)
  if ! as_postgres "$pg_bin/psql" -X -q -h "$pg_socket" -p "$pg_port" -d postgres -v ON_ERROR_STOP=1 -c "
    DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth') THEN CREATE ROLE berth; END IF;
    END \$\$;
    ALTER ROLE berth LOGIN CREATEDB PASSWORD 'berth';" >/dev/null; then
    log "could not create the role berth in the tests' PostgreSQL"
    exit 1
  fi
  if ! pg_answers "$pg_url"; then
    log "PostgreSQL runs but role berth cannot log in at 127.0.0.1:$pg_port (another server on that port?); last lines of $pg_log:"
    as_postgres tail -n 30 "$pg_log" >&2 || true
    exit 1
  fi
  log "PostgreSQL is ready"
  export BERTH_TEST_POSTGRES_URL="$pg_url"
fi
