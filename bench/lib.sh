# Shared by the bench/ scripts (sourced).

# measure NAME RUNS CMD...: runs CMD RUNS times in a fresh $OUT/work, records
# "seconds maxrss_kb" per run in $OUT/NAME.times; stops the script if CMD fails.
measure() {
  local name=$1 runs=$2; shift 2
  : > "$OUT/$name.times"
  for _ in $(seq 1 "$runs"); do
    rm -rf "$OUT/work" && mkdir -p "$OUT/work"
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr" \
      || { echo "$name failed:" >&2; tail -5 "$OUT/$name.stderr" >&2; exit 1; }
    cat "$OUT/time.txt" >> "$OUT/$name.times"
  done
  echo "$name: $(tr '\n' ' ' < "$OUT/$name.times")" >&2
}
