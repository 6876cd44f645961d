#!/usr/bin/env bash
# Times the dashboard's pages from a running `mnistlab serve` (a release build) on a store of
# RUNS runs: run 1 with LONG epochs, every other run with EPOCHS. The quality bar is under
# 100 ms of server time for `/` at 5,000 runs and for `/runs/1` at 1,000 epochs. Fills the
# store with the tool's own schema (`db migrate`) and one INSERT … SELECT per table, as
# scale_store.sh does, then asks each page REPEAT times with curl after a warm-up and prints
# the median of curl's total time (loopback: connect is a few µs; the rest is the server
# reading the store and rendering) and of its time to first byte, the server's CPU time per
# request, and the page's size.
#
#   Benchmarks/serve_pages.sh [mnistlab binary] [database]     # RUNS=… EPOCHS=… LONG=… REPEAT=…
#   Benchmarks/serve_pages.sh .build/release/mnistlab /tmp/mnistlab-pages.sqlite
#   Benchmarks/serve_pages.sh .build/release/mnistlab 'postgres://user:pw@127.0.0.1:5432/pages'
#   SWEEP=1 RUNS=1000 LONG=20 Benchmarks/serve_pages.sh …      # the sweep page instead
#
# With SWEEP=1 every run is a trial of sweep 1 (a random search: learning rate on a log range,
# activation, momentum and seed varying), and the pages timed are the sweep's.
#
# The database is filled only when it has no runs; an SQLite file is created, a PostgreSQL
# database must exist (createdb) and be empty or filled by this script.
set -euo pipefail
MNISTLAB=${1:-.build/release/mnistlab}
DB=${2:-/tmp/mnistlab-pages.sqlite}
RUNS=${RUNS:-5000}
EPOCHS=${EPOCHS:-20}
LONG=${LONG:-1000}
REPEAT=${REPEAT:-21}
SWEEP=${SWEEP:-0}

"$MNISTLAB" db migrate --db "$DB" >/dev/null
count() { "$MNISTLAB" runs --db "$DB" --json --limit 1 | grep -c '"id"' || true; }

RUN_COLUMNS="id, name, status, created_at, finished_at, learning_rate, batch_size, epochs,
             hidden, activation, loss, momentum, seed, train_size, val_size, dataset_path,
             dataset_checksum, code_version, kernel_path, keep_every"
RUN_VALUES="i, 'run-' || i, 'completed', '2026-11-28T00:00:00.000Z', '2026-11-28T00:01:00.000Z',
            0.01 * (1 + i % 50), 200, CASE WHEN i = 1 THEN $LONG ELSE $EPOCHS END, '100',
            'sigmoid', 'cross-entropy', 0, i, 50000, 10000, '/data/mnist', 'crc32:0', 'pages',
            'avx2', 50"
# SWEEP=1: sweep 1, and a trial of it per run with the run's settings (trials.settings' JSON).
SWEEP_SQL="
INSERT INTO sweeps (id, created_at, grid, size) VALUES (1, '2026-11-28T00:00:00.000Z',
  '{\"random\":{\"learning_rate\":\"0.001:10:log\"},\"values\":{}}', $RUNS);
UPDATE runs SET sweep_id = 1, learning_rate = 0.001 * (1 + id),
  activation = CASE id % 2 WHEN 0 THEN 'sigmoid' ELSE 'relu' END,
  momentum = CASE id % 3 WHEN 0 THEN 0 WHEN 1 THEN 0.5 ELSE 0.9 END, seed = 1 + id % 4;
UPDATE epochs SET val_loss = val_loss + (run_id % 7) * 0.01 + (run_id % 3) * 0.02;
INSERT INTO trials (id, sweep_id, number, settings, status, run_id, attempts)
SELECT id, 1, id, '{\"data\":{\"directory\":\"/data/mnist\",\"train_limit\":null,\"validation_size\":10000},'
  || '\"hyperparameters\":{\"activation\":\"' || activation || '\",\"batch_size\":200,\"epochs\":'
  || epochs || ',\"hidden\":[100],\"learning_rate\":' || learning_rate
  || ',\"loss\":\"cross-entropy\",\"lr_schedule\":\"constant\",\"min_delta\":0,\"min_learning_rate\":0,'
  || '\"momentum\":' || momentum || ',\"patience\":null,\"seed\":' || seed || ',\"weight_decay\":0},'
  || '\"keep_every\":50,\"name\":\"sweep-1/t' || id || '\",\"version\":1}', 'completed', id, 1
FROM runs;"
[ "$SWEEP" = 1 ] || SWEEP_SQL=""
# Validation loss falls to a minimum at an epoch that differs per run, then rises.
EPOCH_VALUES="r.id, e.n, 1.0 / e.n, 0.9, 0.08 + abs(e.n - (1 + r.id * 37 % r.epochs)) / 5000.0,
              0.97, 0.06, '2026-11-28T00:00:00.000Z'"
EPOCH_COLUMNS="run_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, seconds,
               recorded_at"

if [ "$(count)" = 0 ]; then
    start=$(date +%s.%N)
    case "$DB" in
    postgres://* | postgresql://*)
        psql -X -q -v ON_ERROR_STOP=1 "$DB" <<SQL
BEGIN;
INSERT INTO runs ($RUN_COLUMNS) SELECT $RUN_VALUES FROM generate_series(1, $RUNS) AS i;
INSERT INTO epochs ($EPOCH_COLUMNS)
SELECT $EPOCH_VALUES FROM runs AS r, generate_series(1, r.epochs) AS e(n);
$SWEEP_SQL
COMMIT;
ANALYZE;
SQL
        ;;
    *)
        sqlite3 "$DB" <<SQL
BEGIN;
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < $RUNS)
INSERT INTO runs ($RUN_COLUMNS) SELECT $RUN_VALUES FROM r;
WITH RECURSIVE e(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM e WHERE n < $LONG)
INSERT INTO epochs ($EPOCH_COLUMNS)
SELECT $EPOCH_VALUES FROM runs AS r JOIN e ON e.n <= r.epochs;
$SWEEP_SQL
COMMIT;
ANALYZE;
SQL
        ;;
    esac
    echo "filled $RUNS runs (run 1: $LONG epochs, the others $EPOCHS) in $(echo "$(date +%s.%N) - $start" | bc) s"
fi

# The server, on a free port; its first line names the URL.
OUT=$(mktemp)
"$MNISTLAB" serve --port 0 --db "$DB" >"$OUT" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -f "$OUT"' EXIT
for _ in $(seq 100); do grep -q '^Serving' "$OUT" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$OUT" | head -1)
[ -n "$URL" ] || { cat "$OUT"; exit 1; }

# Median total and first-byte milliseconds of REPEAT requests, after 3 unmeasured ones, and
# the server's CPU time (user + system, from /proc) per measured request: on a shared machine
# the steadier figure.
median() {
    python3 - "$REPEAT" "$1" "$SERVER" <<'PY'
import os, statistics, subprocess, sys
repeat, url, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def cpu_ms():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
fmt = "%{time_total} %{time_starttransfer} %{size_download} %{http_code}"
def ask():
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", fmt, url],
                         capture_output=True, text=True, check=True).stdout.split()
    if out[3] != "200":
        sys.exit(f"{url}: HTTP {out[3]}")
    return float(out[0]) * 1000, float(out[1]) * 1000, int(out[2])
for _ in range(3):
    ask()
before = cpu_ms()
samples = [ask() for _ in range(repeat)]
cpu = (cpu_ms() - before) / repeat
total = statistics.median(s[0] for s in samples)
first = statistics.median(s[1] for s in samples)
print(f"{total:9.1f} {first:11.1f} {cpu:10.1f} {samples[-1][2] / 1024:9.0f}")
PY
}

echo "$("$MNISTLAB" --version 2>/dev/null || true) on $(nproc) cores, $(uname -sr); store: ${DB%%://*}"
echo "$REPEAT requests each, ms        median total  first byte  server CPU      KiB"
pages="/ /runs/1 /runs/1/section /api/runs /api/runs/1/epochs /runs/2"
[ "$SWEEP" = 1 ] && pages="/sweeps/1 /sweeps/1/section /api/sweeps/1"
for page in $pages; do
    printf '%-34s %s\n' "$page" "$(median "${URL%/}$page")"
done
