#!/usr/bin/env bash
# Builds a database of RUNS runs × EPOCHS epochs (default 10,000 × 1,000: 10 M epoch rows) with
# the tool's own schema, then times the queries of the "instant at 10,000 runs" target from a
# fresh process each, and the same figures through the pre-0005 run_summary (recomputed from
# every epoch) as the baseline, on the same data in the same session.
#
#   Benchmarks/scale_store.sh [mnistlab binary] [database]      # RUNS=… EPOCHS=… REPEAT=…
set -euo pipefail
MNISTLAB=${1:-.build/release/mnistlab}
DB=${2:-/tmp/mnistlab-scale.sqlite}
RUNS=${RUNS:-10000}
EPOCHS=${EPOCHS:-1000}
REPEAT=${REPEAT:-7}

"$MNISTLAB" db migrate --db "$DB" >/dev/null
if [ "$(sqlite3 "$DB" "SELECT count(*) FROM runs")" = 0 ]; then
    start=$(date +%s.%N)
    # Validation loss falls to a minimum at an epoch that differs per run, then rises: the
    # seed's overfitting shape, so that best epochs and rankings are not trivial.
    sqlite3 "$DB" <<SQL
BEGIN;
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $RUNS)
INSERT INTO runs (id, name, status, created_at, finished_at, learning_rate, batch_size, epochs,
                  hidden, activation, loss, momentum, seed, train_size, val_size, dataset_path,
                  dataset_checksum, code_version, kernel_path, keep_every)
SELECT i, 'run-' || i, 'completed', '2026-11-28T00:00:00.000Z', '2026-11-28T00:01:00.000Z',
       0.01 * (1 + i % 50), 200, $EPOCHS, '100', 'sigmoid', 'cross-entropy', 0, i, 50000, 10000,
       '/data/mnist', 'crc32:0', 'scale', 'avx512', 50
FROM r;
WITH RECURSIVE e(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM e WHERE n < $EPOCHS)
INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds,
                    recorded_at)
SELECT r.id, e.n, 1.0 / e.n, 0.9, 0.08 + abs(e.n - (100 + r.id * 37 % 800)) / 5000.0
       + (r.id % 97) / 100000.0, 0.97, 0.06, '2026-11-28T00:00:00.000Z'
FROM runs AS r, e;
COMMIT;
SQL
    echo "built $RUNS runs × $EPOCHS epochs in $(echo "$(date +%s.%N) - $start" | bc) s: $(du -h "$DB" | cut -f1)"
fi

# Median wall/cpu milliseconds of REPEAT fresh processes of a command (median_ms.py).
median_ms() {
    python3 "$(dirname "$0")/median_ms.py" "$REPEAT" "$@"
}

OLD_VIEW="
SELECT r.id, (SELECT count(*) FROM epochs WHERE run_id = r.id) AS epochs_done,
       best.epoch AS best_epoch, best.val_loss AS best_val_loss
FROM runs AS r
LEFT JOIN epochs AS best ON best.run_id = r.id AND best.epoch =
    (SELECT epoch FROM epochs WHERE run_id = r.id ORDER BY val_loss, epoch LIMIT 1)
LEFT JOIN epochs AS last ON last.run_id = r.id AND last.epoch =
    (SELECT max(epoch) FROM epochs WHERE run_id = r.id)"
MID=$((RUNS / 2))

echo "median wall/cpu ms over $REPEAT runs"
echo "query                               mnistlab        sqlite3, run_summary (0005+)     sqlite3, pre-0005 view"
row() {
    printf '%-35s %13s   %30s   %27s\n' "$1" "$2" "$3" "$4"
}
row "runs --limit 20" \
    "$(median_ms "$MNISTLAB" runs --limit 20 --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "SELECT * FROM run_summary ORDER BY id DESC LIMIT 20")" \
    "$(median_ms sqlite3 "$DB" "$OLD_VIEW ORDER BY r.id DESC LIMIT 20")"
row "best (best run overall)" \
    "$(median_ms "$MNISTLAB" best --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "SELECT * FROM run_summary ORDER BY best_val_loss LIMIT 1")" \
    "$(median_ms sqlite3 "$DB" "$OLD_VIEW ORDER BY best_val_loss LIMIT 1")"
row "show $MID" \
    "$(median_ms "$MNISTLAB" show "$MID" --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "SELECT * FROM run_summary WHERE id = $MID")" \
    "$(median_ms sqlite3 "$DB" "$OLD_VIEW WHERE r.id = $MID")"
row "ranking (top 10 by best_val_loss)" \
    "$(median_ms "$MNISTLAB" sql "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss LIMIT 10" --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss LIMIT 10")" \
    "$(median_ms sqlite3 "$DB" "$OLD_VIEW ORDER BY best_val_loss LIMIT 10")"
# runs --where … --sort … (issue 26): a user's expression and order through sql's guard.
WHERE="learning_rate > 0.25 AND best_val_loss < 0.09"
SEARCH="SELECT * FROM run_summary WHERE ($WHERE) ORDER BY best_val_loss IS NULL, best_val_loss, id DESC"
row "runs --where … --sort … --limit 20" \
    "$(median_ms "$MNISTLAB" runs --where "$WHERE" --sort best_val_loss --limit 20 --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "$SEARCH LIMIT 20")" ""
row "runs --where … --sort … (all: $(sqlite3 "$DB" "SELECT count(*) FROM run_summary WHERE $WHERE"))" \
    "$(median_ms "$MNISTLAB" runs --where "$WHERE" --sort best_val_loss --db "$DB")" \
    "$(median_ms sqlite3 "$DB" "$SEARCH")" ""
row "mnistlab --version (process start)" "$(median_ms "$MNISTLAB" --version)" "" ""
