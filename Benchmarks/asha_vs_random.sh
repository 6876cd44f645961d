#!/usr/bin/env bash
# ASHA against exhaustive random search over the SAME N configurations (issue 25): one
# `sweep --random N --sample-seed S` trained to --epochs by every trial, and the same command
# with --asha (η = 3, rungs at EPOCHS/27, /9, /3 and EPOCHS), each into a fresh SQLite file and
# trained by WORKERS local `mnistlab worker` processes (MNISTLAB_THREADS=1 each: one
# single-threaded worker per core, the fastest layout on 2 cores, see "Sweep workers"). Both
# runs happen in one session, ASHA first, so each is the other's same-run baseline.
#
# Prints, per mode: wall time, total epochs trained (counted in the store's epochs table, SQL
# below), trials completed and pruned, and the best validation loss (of any trial, and of the
# trials trained to the end). Checks that both sweeps drew the same N configurations: the
# (trial number, learning rate, hidden, momentum, batch size, seed) of every trial's run, read
# from each store, must be identical (their sha256 is printed).
#
#   Benchmarks/asha_vs_random.sh [mnistlab binary]   # N=27 EPOCHS=81 SAMPLE_SEED=1 WORKERS=2
#   EPOCHS=27 N=27 OUT=/tmp/asha Benchmarks/asha_vs_random.sh .build/release/mnistlab
#
# OUT keeps the two stores (asha.sqlite, exhaustive.sqlite) for Benchmarks/sha_replay.py;
# without it they go to a temporary directory that is removed at the end. SPACE is the search
# space (default in sweep_search.sh: the one BENCHMARKS.md reports); DATA_FLAGS can add e.g.
# --train-limit for a scaled-down run; ASHA_FLAGS is added to
# the ASHA sweep (e.g. --min-epochs 9); MODES=asha runs only that one.
set -euo pipefail
MNISTLAB=$(realpath "${1:-.build/release/mnistlab}")
N=${N:-27}
EPOCHS=${EPOCHS:-81}
SAMPLE_SEED=${SAMPLE_SEED:-1}
WORKERS=${WORKERS:-2}
MODES=${MODES:-asha exhaustive}
ASHA_FLAGS=${ASHA_FLAGS:-}
# shellcheck source=Benchmarks/sweep_search.sh
. "$(dirname "$0")/sweep_search.sh"

sql() { "$MNISTLAB" sql --csv "$1" | tail -n +2; }

EPOCHS_SQL="SELECT count(*) FROM epochs AS e JOIN runs AS r ON r.id = e.run_id WHERE r.sweep_id = 1"
DRAWS_SQL="SELECT t.number, r.learning_rate, r.hidden, r.momentum, r.batch_size, r.seed FROM trials AS t JOIN runs AS r ON r.id = t.run_id WHERE t.sweep_id = 1 ORDER BY t.number"
echo "epochs trained: $EPOCHS_SQL"
echo "machine: $(nproc) cores; $(uptime)"
echo
echo "mode        wall (s)  epochs trained  of full  completed  pruned  failed  best val loss  best of completed"
for mode in $MODES; do
    export MNISTLAB_DB="$OUT/$mode.sqlite"
    rm -f "$MNISTLAB_DB" "$MNISTLAB_DB-wal" "$MNISTLAB_DB-shm"
    asha=()
    # shellcheck disable=SC2206 # ASHA_FLAGS is a list of flags
    [ "$mode" = asha ] && asha=(--asha $ASHA_FLAGS)
    # shellcheck disable=SC2086 # SPACE and DATA_FLAGS are lists of flags
    "$MNISTLAB" sweep --random "$N" --sample-seed "$SAMPLE_SEED" $SPACE $DATA_FLAGS \
        --epochs "$EPOCHS" "${asha[@]}" --detach >/dev/null
    start=$(date +%s.%N)
    for w in $(seq "$WORKERS"); do
        nice -n 5 "$MNISTLAB" worker --sweep 1 >"$OUT/$mode.worker$w.log" 2>&1 &
    done
    wait
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    epochs=$(sql "$EPOCHS_SQL")
    counts=$(sql "SELECT sum(status = 'completed'), sum(status = 'pruned'), sum(status = 'failed') FROM trials WHERE sweep_id = 1")
    best=$(sql "SELECT printf('%.4f', min(best_val_loss)) FROM run_summary WHERE sweep_id = 1")
    best_completed=$(sql "SELECT printf('%.4f', min(best_val_loss)) FROM run_summary WHERE sweep_id = 1 AND trial_status = 'completed' AND epochs_done = $EPOCHS")
    sql "$DRAWS_SQL" >"$OUT/$mode.draws.csv"
    IFS=, read -r completed pruned failed <<<"$counts"
    printf '%-10s  %8.1f  %14s  %6.1f%%  %9s  %6s  %6s  %13s  %17s\n' "$mode" "$wall" "$epochs" \
        "$(echo "100 * $epochs / ($N * $EPOCHS)" | bc -l)" "$completed" "$pruned" "$failed" "$best" \
        "$best_completed"
    echo "  after: $(uptime)"
done
echo
for mode in $MODES; do
    echo "draws of $mode: $(sha256sum <"$OUT/$mode.draws.csv" | cut -c1-16) ($(wc -l <"$OUT/$mode.draws.csv") trials)"
done
set -- $MODES
if [ $# -eq 2 ]; then
    if cmp -s "$OUT/$1.draws.csv" "$OUT/$2.draws.csv"; then
        echo "same $N configurations in both sweeps"
    else
        echo "the sweeps drew DIFFERENT configurations:"
        diff "$OUT/$1.draws.csv" "$OUT/$2.draws.csv" || true
        exit 1
    fi
fi
