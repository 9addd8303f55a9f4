#!/usr/bin/env bash
# Stops the daemons tests/ceph/ceph-up.sh started in the directory $1, by the PIDs in their
# pid files (never by name: other clusters may run), then removes the directory.
D=$1
for name in client.rgw.a osd.0 mon.a; do
  file=$D/run/$name.pid
  [ -f "$file" ] || continue
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
done
rm -rf "$D"
