#!/usr/bin/env bash
# A single-node Ceph RGW (S3) for the tests, all on 127.0.0.1, in the directory $1:
# one monitor (port $2), one memstore OSD (data in memory) and radosgw (port $3).
# Prints nothing on success; the S3 user is access key "berthtests", secret "berthtestsecret".
# Stop it with tests/ceph/ceph-down.sh $1. Adapted from the recipe verified on this kind of
# machine (Debian 12, Ceph 16.2: packages ceph-mon ceph-osd radosgw ceph-common uuid-runtime).
set -euo pipefail
D=$1
MON_PORT=$2
RGW_PORT=$3
mkdir -p "$D"/{mon.a,osd.0,run,log,rgw}
FSID=$(uuidgen)
CONF=$D/ceph.conf
cat >"$CONF" <<CONF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
mon warn on insecure global id reclaim allowed = false
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$cluster-\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
mon data avail warn = 1
mon data avail crit = 0
ms bind ipv6 = false
ms bind msgr2 = false
[mon]
# the default propose interval (1s) makes every osdmap change 1-2 s slower
paxos propose interval = 0.05
paxos min wait = 0.01
mon data = $D/mon.\$id
mon cluster log file = $D/log/cluster.log
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = 8589934592
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 1
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $D/rgw
rgw thread pool size = 64
# parts of 64 KiB are accepted (the default minimum is 5 MiB, as on AWS): the tests exercise
# more than 1,000 parts without writing gigabytes
rgw multipart min part size = 65536
rgw gc obj min wait = 0
rgw gc processor period = 5
log file = $D/log/rgw.log
CONF
export CEPH_CONF=$CONF
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon -i a
timeout 60 ceph -s --connect-timeout 30 >/dev/null
OSD_UUID=$(uuidgen)
ID=$(timeout 60 ceph osd new "$OSD_UUID")
ceph-osd -i "$ID" --mkfs --osd-uuid "$OSD_UUID" >/dev/null 2>&1
ceph-osd -i "$ID"
up=0
for _ in $(seq 1 120); do
  if timeout 10 ceph osd dump 2>/dev/null | grep -q "^osd.$ID up"; then up=1; break; fi
  sleep 0.5
done
[ "$up" = 1 ] || { echo "ceph-up: the OSD did not come up within 60 s" >&2; exit 1; }
radosgw -n client.rgw.a
up=0
for _ in $(seq 1 240); do
  if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then up=1; break; fi
  sleep 0.5
done
[ "$up" = 1 ] || { echo "ceph-up: radosgw did not answer within 120 s; see $D/log/rgw.log" >&2; exit 1; }
timeout 60 radosgw-admin -n client.admin user create --uid=berth --display-name=berth \
  --access-key=berthtests --secret=berthtestsecret >/dev/null
