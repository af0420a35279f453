#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster, for `make test` and `make bench`
# (docs/deployment.md). Idempotent: creates the replica cluster when it is missing
# (pg_createcluster + pg_basebackup -R from the primary), starts it when it is stopped, rebuilds
# it when it can no longer follow the primary, and returns once it streams and has replayed
# everything the primary had written when we looked.
#
# Runs as root (CI) or postgres on a Debian-style installation (postgresql-common). It changes the
# primary in one way only, and only when needed: a pg_hba.conf line that lets the local
# `postgres` user connect for replication from 127.0.0.1, followed by a reload (no restart).
# No replication slot: a stopped replica never makes the primary keep WAL; it is rebuilt instead.
set -euo pipefail

VERSION=${PG_VERSION:-$(ls /etc/postgresql | sort -V | tail -n 1)}
PRIMARY_CLUSTER=${PG_PRIMARY_CLUSTER:-main}
PRIMARY_PORT=${PG_PRIMARY_PORT:-5432}
REPLICA_CLUSTER=${PG_REPLICA_CLUSTER:-replica}
REPLICA_PORT=${PG_REPLICA_PORT:-5433}
HOST=127.0.0.1
DATA_DIR=/var/lib/postgresql/$VERSION/$REPLICA_CLUSTER

say() { echo "replica.sh: $*" >&2; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

primary() { psql -h "$HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -XAtq -c "$1"; }
replica() { psql -h "$HOST" -p "$REPLICA_PORT" -U postgres -d postgres -XAtq -c "$1"; }

cluster_status() {
    # "online", "down" or "" (no such cluster); the replica reads "online,recovery".
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$VERSION" -v c="$REPLICA_CLUSTER" \
        '$1 == v && $2 == c { print $4 }'
}

check_primary() {
    pg_isready -q -h "$HOST" -p "$PRIMARY_PORT" || {
        say "the primary does not answer on $HOST:$PRIMARY_PORT; start it with" \
            "pg_ctlcluster --skip-systemctl-redirect $VERSION $PRIMARY_CLUSTER start"
        exit 1
    }
    local wal_level senders
    wal_level=$(primary "SHOW wal_level")
    senders=$(primary "SHOW max_wal_senders")
    if [ "$wal_level" = minimal ] || [ "$senders" -lt 1 ]; then
        say "the primary has wal_level=$wal_level and max_wal_senders=$senders: replication needs" \
            "wal_level=replica and max_wal_senders >= 1 (a restart of the primary; not done here)"
        exit 1
    fi
}

replication_allowed() {
    psql "host=$HOST port=$PRIMARY_PORT user=postgres dbname=postgres replication=true" \
        -XAtq -c "IDENTIFY_SYSTEM" >/dev/null 2>&1
}

allow_replication() {
    replication_allowed && return 0
    local hba
    hba=$(primary "SHOW hba_file")
    say "adding a local replication line to $hba and reloading the primary"
    printf '%s\n' "host replication postgres $HOST/32 trust  # local streaming replica (tests/support/replica.sh)" \
        >>"$hba"
    primary "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 20); do replication_allowed && return 0; sleep 0.2; done
    say "the primary still refuses replication connections from $HOST (see $hba)"
    exit 1
}

create_replica() {
    say "creating cluster $VERSION/$REPLICA_CLUSTER on port $REPLICA_PORT from the primary"
    pg_createcluster "$VERSION" "$REPLICA_CLUSTER" --port "$REPLICA_PORT" >/dev/null
    # A replica admits the clients the primary admits.
    install -o postgres -g postgres -m 640 "$(primary "SHOW hba_file")" \
        "/etc/postgresql/$VERSION/$REPLICA_CLUSTER/pg_hba.conf"
    # The new cluster's own files make way for a copy of the primary; its configuration in
    # /etc/postgresql/$VERSION/$REPLICA_CLUSTER (port, hot_standby = on by default) stays.
    find "$DATA_DIR" -mindepth 1 -delete
    as_postgres pg_basebackup -h "$HOST" -p "$PRIMARY_PORT" -U postgres -D "$DATA_DIR" \
        --write-recovery-conf --wal-method=stream --checkpoint=fast
}

drop_replica() {
    say "dropping cluster $VERSION/$REPLICA_CLUSTER"
    pg_dropcluster --stop "$VERSION" "$REPLICA_CLUSTER"
}

start_replica() {
    case "$(cluster_status)" in
    online*) ;;
    *) pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$REPLICA_CLUSTER" start ;;
    esac
}

# Streaming, and every byte the primary had written when asked is replayed (30 s at most).
caught_up() {
    local target
    target=$(primary "SELECT pg_current_wal_lsn()")
    for _ in $(seq 150); do
        if [ "$(replica "SELECT pg_is_in_recovery()
                AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')
                AND pg_last_wal_replay_lsn() >= '$target'::pg_lsn" 2>/dev/null)" = t ]; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

if [ "$(id -u)" != 0 ] && [ "$(id -un)" != postgres ]; then
    say "run as root or postgres (it creates and starts a PostgreSQL cluster)"
    exit 1
fi
check_primary
allow_replication
if [ -z "$(cluster_status)" ]; then
    create_replica
fi
start_replica
if ! caught_up; then
    # Typically a replica stopped for long: the primary has recycled the WAL it would need.
    say "the replica does not follow the primary: rebuilding it"
    drop_replica
    create_replica
    start_replica
    caught_up || { say "the rebuilt replica does not follow the primary either"; exit 1; }
fi
say "streaming replica of $HOST:$PRIMARY_PORT ready on $HOST:$REPLICA_PORT"
