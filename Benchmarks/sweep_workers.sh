#!/usr/bin/env bash
# A 16-trial sweep (the seed network, 16 seeds, EPOCHS epochs each on the bundled MNIST)
# trained by 1, 2 and 4 local workers into a fresh SQLite file each time, in one session:
# wall time, trials per minute, and what a worker spends per epoch beyond training (claiming,
# committing, loading data), from the runs' recorded epoch times.
#
#   Benchmarks/sweep_workers.sh [mnistlab binary]      # EPOCHS=10 WORKERS="1 2 4"
set -euo pipefail
MNISTLAB=${1:-.build/release/mnistlab}
EPOCHS=${EPOCHS:-10}
WORKERS=${WORKERS:-1 2 4}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT

echo "workers  wall (s)  trials/min  epoch seconds (sum)  overhead per epoch (ms)"
for w in $WORKERS; do
    db="$DIR/w$w.sqlite"
    "$MNISTLAB" sweep --seed "$(seq -s, 1 16)" --epochs "$EPOCHS" --detach --db "$db" >/dev/null
    start=$(date +%s.%N)
    for _ in $(seq "$w"); do "$MNISTLAB" worker --sweep 1 --db "$db" >/dev/null & done
    wait
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    trained=$(sqlite3 "$db" "SELECT sum(seconds), count(*) FROM epochs")
    seconds=${trained%|*}
    epochs=${trained#*|}
    # Each worker's time not spent in recorded epochs, per epoch it trained.
    overhead=$(echo "($wall * $w - $seconds) * 1000 / $epochs" | bc -l)
    printf '%7s  %8.1f  %10.1f  %19.1f  %23.1f\n' "$w" "$wall" "$(echo "16 * 60 / $wall" | bc -l)" \
        "$seconds" "$overhead"
done
