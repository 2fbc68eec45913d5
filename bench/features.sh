#!/usr/bin/env bash
# Feature extraction throughput and peak memory on a synthetic UTXO lake
# (`bench lake`: SIZES transactions each, seeded), at address and entity level, one
# window over the whole chain: rows (actors) per second of the whole command (reading
# the lake, clustering at entity level, every feature, writing the Parquet file) and
# peak RSS (/usr/bin/time). The workload chain's numbers come from bench/lookalike.sh.
#
#   bench/features.sh                 SIZES="100000 1000000" THREADS=2
# Needs a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
LF=${LF:-target/release/ledgerflow}
OUT=${OUT:-/tmp/lf-bench-features}
SIZES=${SIZES:-"100000 1000000"}
THREADS=${THREADS:-2}
[ -x "$LF" ] || { echo "build first: cargo build --release (or set LF)" >&2; exit 1; }
mkdir -p "$OUT"
printf "%-12s %-8s %10s %9s %12s %10s\n" transactions level actors seconds "actors/s" "peak MB"
for n in $SIZES; do
  lake="$OUT/lake-$n"
  [ -d "$lake/synthetic" ] || "$LF" -q bench lake -o "$lake" --transactions "$n" > /dev/null
  for level in address entity; do
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$LF" -q features --lake "$lake" --chain synthetic \
      --level $level --window 36500d --threads "$THREADS" -o "$OUT/f-$n-$level.parquet" > "$OUT/out.txt"
    read -r secs kb < "$OUT/time.txt"
    rows=$(head -1 "$OUT/out.txt" | cut -d' ' -f1)
    printf "%-12s %-8s %10s %9s %12s %10s\n" "$n" $level "$rows" "$secs" \
      "$(python3 -c "print(round($rows/max($secs,1e-9)))")" "$((kb / 1024))"
  done
done
