#!/usr/bin/env bash
# `npm run bench`: prepares the machine as the tests do (Debian's docker-registry, docker.io,
# busybox-static and postgresql, plus wrk for the high-concurrency rows; a running dockerd and
# the tests' PostgreSQL), then runs the harness with the arguments given (e.g. -- --quick).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export BERTH_EXTRA_PACKAGES="wrk"
# shellcheck source=tests/machine.sh
source tests/machine.sh
exec node_modules/.bin/bun bench/run.ts "$@"
