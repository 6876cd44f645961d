#!/usr/bin/env bash
# A 16-trial sweep (the seed network, 16 seeds, EPOCHS epochs each on the bundled MNIST)
# trained by 1, 2 and 4 local workers into a fresh database each time, in one session, on each
# store in STORES: a new SQLite file, and a new database on a PostgreSQL server. Prints wall
# time, trials per minute, trials per minute per worker, and what a worker spends per epoch
# beyond training (claiming, committing, loading data), from the runs' recorded epoch times.
#
#   Benchmarks/sweep_workers.sh [mnistlab binary]      # EPOCHS=10 WORKERS="1 2 4" STORES=sqlite
#   STORES="sqlite postgres" Benchmarks/sweep_workers.sh .build/release/mnistlab
#   STORES=postgres PG_URL=postgres://user:pw@host/any Benchmarks/sweep_workers.sh
#
# PostgreSQL: PG_URL names a server where that user may create databases (one per worker
# count, bench_sweep_w1…, dropped first); without it the script starts a throwaway server as
# the tests do (initdb as the postgres user, a free loopback port, default durability: every
# commit flushed) and stops it at the end.
set -euo pipefail
MNISTLAB=$(realpath "${1:-.build/release/mnistlab}")
EPOCHS=${EPOCHS:-10}
WORKERS=${WORKERS:-1 2 4}
STORES=${STORES:-sqlite}
DIR=$(mktemp -d)
SERVER=""

cleanup() {
    if [ -n "$SERVER" ]; then
        runuser -u postgres -- "$SERVER/pg_ctl" -D "$DIR/pg/data" -m fast stop >/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

# A throwaway server; sets PG_URL to its "postgres" database.
start_server() {
    local bin port
    bin=$(dirname "$(realpath "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")")
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$DIR/pg"
    echo bench >"$DIR/pg/password"
    chown -R postgres "$DIR"
    runuser -u postgres -- "$bin/initdb" -D "$DIR/pg/data" -U mnistlab --auth=scram-sha-256 \
        --pwfile="$DIR/pg/password" -E UTF8 --no-locale >/dev/null
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
        "$port" "$DIR/pg" >>"$DIR/pg/data/postgresql.conf"
    runuser -u postgres -- "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/log" -w start >/dev/null
    SERVER=$bin
    PG_URL="postgres://mnistlab:bench@127.0.0.1:$port/postgres?sslmode=disable"
}

# $1 with its database name replaced by $2.
with_database() {
    local base=${1%%\?*} query=""
    [[ $1 == *\?* ]] && query="?${1#*\?}"
    echo "${base%/*}/$2$query"
}

# A fresh database for $2 workers on store $1: prints its path or URL.
fresh_database() {
    case $1 in
    sqlite) echo "$DIR/w$2.sqlite" ;;
    postgres)
        local name="bench_sweep_w$2"
        PGOPTIONS=--client-min-messages=warning psql -X -q "$PG_URL" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
        with_database "$PG_URL" "$name"
        ;;
    esac
}

if [[ " $STORES " == *" postgres "* && -z "${PG_URL:-}" ]]; then start_server; fi

echo "store     workers  wall (s)  trials/min  trials/min/worker  epoch seconds (sum)  overhead per epoch (ms)"
for store in $STORES; do
    for w in $WORKERS; do
        db=$(fresh_database "$store" "$w")
        # The location in MNISTLAB_DB, never argv, so that a URL's password stays out of ps.
        export MNISTLAB_DB=$db
        "$MNISTLAB" sweep --seed "$(seq -s, 1 16)" --epochs "$EPOCHS" --detach >/dev/null
        start=$(date +%s.%N)
        for _ in $(seq "$w"); do "$MNISTLAB" worker --sweep 1 >/dev/null & done
        wait
        wall=$(echo "$(date +%s.%N) - $start" | bc)
        trained=$("$MNISTLAB" sql --csv "SELECT sum(seconds), count(*) FROM epochs" | tail -1)
        seconds=${trained%,*}
        epochs=${trained#*,}
        # Each worker's time not spent in recorded epochs, per epoch it trained.
        overhead=$(echo "($wall * $w - $seconds) * 1000 / $epochs" | bc -l)
        rate=$(echo "16 * 60 / $wall" | bc -l)
        printf '%-8s  %7s  %8.1f  %10.1f  %17.1f  %19.1f  %23.1f\n' "$store" "$w" "$wall" "$rate" \
            "$(echo "$rate / $w" | bc -l)" "$seconds" "$overhead"
    done
done
