#!/usr/bin/env bash
# Times how long a committed epoch takes to reach an open run page: the quality bar is under
# 100 ms from the epoch's commit to its event on `/api/runs/ID/events`, the stream the run
# page listens to. Starts `mnistlab serve` on the store, trains a small run into it (EPOCHS
# epochs of TRAIN_LIMIT images, so that an epoch commits every few tenths of a second), reads
# the run's event stream as a page does, and for each epoch subtracts the epoch's recorded_at
# (stamped as the epoch's transaction begins, before its checkpoint is written and it
# commits: the figure is an upper bound) from the moment its `data:` line arrived. Prints the
# median, 90th percentile and worst of those delays.
#
#   Benchmarks/epoch_latency.sh [mnistlab binary] [database]     # EPOCHS=… TRAIN_LIMIT=…
#   Benchmarks/epoch_latency.sh .build/release/mnistlab /tmp/mnistlab-latency.sqlite
#   Benchmarks/epoch_latency.sh .build/release/mnistlab 'postgres://user:pw@127.0.0.1:5432/latency'
set -euo pipefail
MNISTLAB=${1:-.build/release/mnistlab}
DB=${2:-/tmp/mnistlab-latency.sqlite}
EPOCHS=${EPOCHS:-60}
TRAIN_LIMIT=${TRAIN_LIMIT:-5000}

"$MNISTLAB" db migrate --db "$DB" >/dev/null
OUT=$(mktemp)
"$MNISTLAB" serve --port 0 --db "$DB" >"$OUT" 2>&1 &
SERVER=$!
TRAINER=
trap 'kill $SERVER $TRAINER 2>/dev/null; rm -f "$OUT"' EXIT
for _ in $(seq 100); do grep -q '^Serving' "$OUT" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$OUT" | head -1)
[ -n "$URL" ] || { cat "$OUT"; exit 1; }

"$MNISTLAB" train --db "$DB" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" --val-size 1000 \
    --hidden 32 --name latency >/dev/null &
TRAINER=$!

python3 - "${URL%/}" "$MNISTLAB" "$DB" "$EPOCHS" <<'PY'
import datetime, json, statistics, subprocess, sys, time, urllib.request
url, mnistlab, db, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# The run this script's trainer made: the newest run named "latency" that is running.
for _ in range(300):
    runs = json.loads(subprocess.run([mnistlab, "runs", "--db", db, "--json", "--status", "running"],
                                     capture_output=True, text=True, check=True).stdout)
    mine = [r["id"] for r in runs if r["name"] == "latency"]
    if mine:
        break
    time.sleep(0.1)
else:
    sys.exit("the trainer never started its run")
run = max(mine)
delays = []
with urllib.request.urlopen(f"{url}/api/runs/{run}/events") as stream:
    opened = time.time()
    for line in stream:
        arrived = time.time()
        if not line.startswith(b"data: "):
            continue
        epoch = json.loads(line[6:])
        stamp = datetime.datetime.strptime(epoch["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        committed = stamp.replace(tzinfo=datetime.timezone.utc).timestamp()
        # Epochs committed before the stream opened arrive at once: only the later ones count.
        if committed > opened:
            delays.append((arrived - committed) * 1000)
        if epoch["epoch"] >= epochs:
            break
delays.sort()
print(f"run {run}: {len(delays)} epochs committed while the stream was open; from commit to "
      f"event, ms: median {statistics.median(delays):.1f}, p90 {delays[int(len(delays) * 0.9)]:.1f}, "
      f"worst {delays[-1]:.1f}")
PY
