#!/usr/bin/env bash
# scale_store.sh's "instant at 10,000 runs" target on PostgreSQL: a database of RUNS runs ×
# EPOCHS epochs (default 10,000 × 1,000: 10 M epoch rows) with the tool's own schema, on a
# throwaway server started here on a free loopback port (or on the server of URL), then the
# same queries timed from a fresh process each: through mnistlab, and the same SQL through
# psql, beside the SQLite figures of scale_store.sh measured in the same session.
#
#   Benchmarks/scale_store_postgres.sh [mnistlab binary] [URL]      # RUNS=… EPOCHS=… REPEAT=…
set -euo pipefail
MNISTLAB=${1:-.build/release/mnistlab}
URL=${2:-}
RUNS=${RUNS:-10000}
EPOCHS=${EPOCHS:-1000}
REPEAT=${REPEAT:-7}

if [ -z "$URL" ]; then
    # A throwaway server, as the tests start one: initdb refuses root, so as `postgres` then.
    BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    DIR=$(mktemp -d /tmp/mnistlab-scale-pg.XXXXXX)
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    AS=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; AS=(runuser -u postgres --); fi
    "${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U bench --auth=trust --no-locale -E UTF8 >/dev/null
    "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=1GB" start >/dev/null
    trap '"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null; rm -rf "$DIR"' EXIT
    psql -X -q -h 127.0.0.1 -p "$PORT" -U bench -d postgres -c "CREATE DATABASE scale"
    URL="postgres://bench@127.0.0.1:$PORT/scale?sslmode=disable"
fi
PSQL=(psql -X -q -A -t "$URL")

"$MNISTLAB" db migrate --db "$URL" >/dev/null
if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM runs")" = 0 ]; then
    start=$(date +%s.%N)
    # The same rows as scale_store.sh. The per-row run_stats triggers are replaced, for the
    # load only, by one aggregate at the end (session_replication_role = replica skips them).
    "${PSQL[@]}" <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO runs (id, name, status, created_at, finished_at, learning_rate, batch_size, epochs,
                  hidden, activation, loss, momentum, seed, train_size, val_size, dataset_path,
                  dataset_checksum, code_version, kernel_path, keep_every, uid)
SELECT i, 'run-' || i, 'completed', '2026-11-28T00:00:00.000Z', '2026-11-28T00:01:00.000Z',
       0.01 * (1 + i % 50), 200, $EPOCHS, '100', 'sigmoid', 'cross-entropy', 0, i, 50000, 10000,
       '/data/mnist', 'crc32:0', 'scale', 'avx512', 50, gen_random_uuid()::text
FROM generate_series(1, $RUNS) AS i;
INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds,
                    recorded_at)
SELECT r.id, e.n, 1.0 / e.n, 0.9, 0.08 + abs(e.n - (100 + r.id * 37 % 800)) / 5000.0
       + (r.id % 97) / 100000.0, 0.97, 0.06, '2026-11-28T00:00:00.000Z'
FROM runs AS r, generate_series(1, $EPOCHS) AS e(n);
INSERT INTO run_stats (run_id, epochs_done, last_epoch, best_epoch, best_val_loss,
                       max_val_accuracy, total_seconds, best_val_accuracy, last_train_loss,
                       last_train_accuracy, last_val_loss, last_val_accuracy)
SELECT run_id, count(*), max(epoch),
       (array_agg(epoch ORDER BY val_loss, epoch))[1],
       min(val_loss), max(val_accuracy), sum(seconds),
       (array_agg(val_accuracy ORDER BY val_loss, epoch))[1],
       (array_agg(train_loss ORDER BY epoch DESC))[1],
       (array_agg(train_accuracy ORDER BY epoch DESC))[1],
       (array_agg(val_loss ORDER BY epoch DESC))[1],
       (array_agg(val_accuracy ORDER BY epoch DESC))[1]
FROM epochs GROUP BY run_id;
COMMIT;
VACUUM ANALYZE;
SQL
    echo "built $RUNS runs × $EPOCHS epochs in $(echo "$(date +%s.%N) - $start" | bc) s: $("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
fi

# Median wall/cpu milliseconds of REPEAT fresh processes of a command (median_ms.py).
median_ms() {
    python3 "$(dirname "$0")/median_ms.py" "$REPEAT" "$@"
}

MID=$((RUNS / 2))
echo "median wall/cpu ms over $REPEAT runs"
echo "query                               mnistlab        psql, run_summary"
row() {
    printf '%-35s %13s   %17s\n' "$1" "$2" "$3"
}
row "runs --limit 20" \
    "$(median_ms "$MNISTLAB" runs --limit 20 --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "SELECT * FROM run_summary ORDER BY id DESC LIMIT 20")"
row "best (best run overall)" \
    "$(median_ms "$MNISTLAB" best --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "SELECT * FROM run_summary ORDER BY best_val_loss LIMIT 1")"
row "show $MID" \
    "$(median_ms "$MNISTLAB" show "$MID" --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "SELECT * FROM run_summary WHERE id = $MID")"
row "ranking (top 10 by best_val_loss)" \
    "$(median_ms "$MNISTLAB" sql "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss LIMIT 10" --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss LIMIT 10")"
# runs --where … --sort … (issue 26): a user's expression and order through sql's guard.
WHERE="learning_rate > 0.25 AND best_val_loss < 0.09"
SEARCH="SELECT * FROM run_summary WHERE ($WHERE) ORDER BY best_val_loss IS NULL, best_val_loss, id DESC"
row "runs --where … --sort … --limit 20" \
    "$(median_ms "$MNISTLAB" runs --where "$WHERE" --sort best_val_loss --limit 20 --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "$SEARCH LIMIT 20")"
row "runs --where … --sort … (all: $("${PSQL[@]}" -c "SELECT count(*) FROM run_summary WHERE $WHERE"))" \
    "$(median_ms "$MNISTLAB" runs --where "$WHERE" --sort best_val_loss --db "$URL")" \
    "$(median_ms "${PSQL[@]}" -c "$SEARCH")"
row "mnistlab --version (process start)" "$(median_ms "$MNISTLAB" --version)" ""

# The server's part alone: each query REPEAT times in one psql session (\timing: the server's
# work plus one loopback round trip, no process start or connection), the median.
echo
echo "in one session, median ms of $REPEAT"
for query in "SELECT * FROM run_summary ORDER BY id DESC LIMIT 20" \
             "SELECT * FROM run_summary ORDER BY best_val_loss LIMIT 1" \
             "SELECT * FROM run_summary WHERE id = $MID" \
             "SELECT * FROM epochs WHERE run_id = $MID ORDER BY epoch" \
             "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss LIMIT 10"; do
    for _ in $(seq "$REPEAT"); do printf '%s;\n' "$query"; done \
        | "${PSQL[@]}" -o /dev/null -c '\timing on' -f - \
        | python3 -c 'import re, statistics, sys; print("%8.2f  " % statistics.median(float(t) for t in re.findall(r"Time: ([0-9.]+) ms", sys.stdin.read())), end="")'
    echo "$query"
done
