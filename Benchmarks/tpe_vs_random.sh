#!/usr/bin/env bash
# TPE against random search with the same budget (issue 25): for each sample seed in SEEDS,
# `sweep --random N` and `sweep --tpe N` (its first --startup trials the same random draws)
# over the same space, each into a fresh SQLite file, one worker each (so TPE's proposals are
# reproducible), the two sweeps of a seed side by side. Prints each sweep's best validation
# loss, then the median over the seeds for each method and how many seeds TPE won.
#
#   Benchmarks/tpe_vs_random.sh [mnistlab binary]   # N=20 EPOCHS=3 SEEDS="1 2 3 4 5"
#   DATA_FLAGS="--train-limit 10000" EPOCHS=5 Benchmarks/tpe_vs_random.sh .build/release/mnistlab
#
# SPACE is the search space (default in sweep_search.sh), STARTUP TPE's random start-up trials (default: mnistlab's, 10).
# OUT keeps the stores (random-S.sqlite, tpe-S.sqlite).
set -euo pipefail
MNISTLAB=$(realpath "${1:-.build/release/mnistlab}")
N=${N:-20}
EPOCHS=${EPOCHS:-3}
SEEDS=${SEEDS:-1 2 3 4 5}
STARTUP=${STARTUP:+--startup $STARTUP}
# shellcheck source=Benchmarks/sweep_search.sh
. "$(dirname "$0")/sweep_search.sh"

# Trains sweep `$1` (random|tpe) with sample seed $2 into its own store.
search() {
    local db="$OUT/$1-$2.sqlite" budget=(--random "$N")
    rm -f "$db" "$db-wal" "$db-shm"
    [ "$1" = tpe ] && budget=(--tpe "$N" $STARTUP)
    # shellcheck disable=SC2086 # SPACE and DATA_FLAGS are lists of flags
    MNISTLAB_DB=$db nice -n 5 "$MNISTLAB" sweep "${budget[@]}" --sample-seed "$2" $SPACE \
        $DATA_FLAGS --epochs "$EPOCHS" >"$OUT/$1-$2.log" 2>&1 || true
}

best() {
    MNISTLAB_DB="$OUT/$1-$2.sqlite" "$MNISTLAB" sql --csv \
        "SELECT printf('%.4f', min(best_val_loss)), count(*), sum(trial_status = 'failed') FROM run_summary WHERE sweep_id = 1" |
        tail -1
}

echo "machine: $(nproc) cores; $(uptime)"
echo "| sample seed | random: best val loss (trials, failed) | TPE: best val loss (trials, failed) |"
echo "| --- | --- | --- |"
randoms=() tpes=()
for seed in $SEEDS; do
    search random "$seed" &
    search tpe "$seed" &
    wait
    IFS=, read -r r rn rf <<<"$(best random "$seed")"
    IFS=, read -r t tn tf <<<"$(best tpe "$seed")"
    randoms+=("$r")
    tpes+=("$t")
    echo "| $seed | $r ($rn, $rf) | $t ($tn, $tf) |"
done
echo "after: $(uptime)"
python3 - "${randoms[*]}" "${tpes[*]}" <<'EOF'
import statistics, sys
random, tpe = ([float(x) for x in a.split()] for a in sys.argv[1:3])
wins = sum(t < r for r, t in zip(random, tpe))
print(f"median best val loss: random {statistics.median(random):.4f}, TPE {statistics.median(tpe):.4f}; "
      f"TPE better on {wins} of {len(random)} seeds")
EOF
