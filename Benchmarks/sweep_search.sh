# Sourced by asha_vs_random.sh and tpe_vs_random.sh: what both measure and where they keep it.
# SPACE, the search space: by default the one BENCHMARKS.md reports ("ASHA and TPE"), widths
# scaled down from issue 25's 32:512 to fit a loaded 2-core machine; DATA_FLAGS, added to each
# sweep; MNISTLAB_THREADS, 1 per worker; OUT, the folder that keeps the stores (a temporary
# one, removed at exit, when unset).
SPACE=${SPACE:---learning-rate 0.01:1:log --hidden 16:128 --momentum 0:0.9 --batch-size 32:256:log}
DATA_FLAGS=${DATA_FLAGS:-}
export MNISTLAB_THREADS=${MNISTLAB_THREADS:-1}
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
else
    OUT=$(mktemp -d)
    trap 'rm -rf "$OUT"' EXIT
fi
