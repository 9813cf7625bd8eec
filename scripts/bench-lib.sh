# Shared by the bench scripts (sourced): stacks started with target/release/warden_stack, their
# cleanup, and the median of a list of numbers. Needs `work` (a temp dir) and `pids` (an array).

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }

start_stack() { # name options-json
  echo "$2" > "$work/$1.json"
  MOCK_NO_RECORD=1 target/release/warden_stack "$work/$1.json" "$work/$1.ready" > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 150); do [ -s "$work/$1.ready" ] && break; sleep 0.1; done
  [ -s "$work/$1.ready" ] || { cat "$work/$1.log"; exit 1; }
}

med() { python3 -c 'import statistics,sys; print(int(statistics.median(float(x) for x in sys.argv[1:])))' $1; }
