#!/usr/bin/env bash
# Short fuzzing pass over every target in filter/fuzz: `scripts/fuzz-smoke.sh [seconds]` (default 15
# per target). Exits non-zero as soon as a target crashes; the crashing input is left in
# filter/fuzz/artifacts/<target>/.
#
# cargo-fuzz needs nightly-only rustc flags (sanitizers, coverage); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them, so no nightly toolchain has to be installed.
set -euo pipefail

seconds="${1:-15}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixtures="${WARDEN_FIXTURES:-$root/tests/fixtures}"
targets=(sse json_array eventstream request_parsers response_path policies toon)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
toolchain=()
if command -v rustup >/dev/null 2>&1 && rustup toolchain list | grep -q '^stable'; then
    toolchain=(+stable)
fi

# Seeds from the recorded streams, so the fuzzer starts from real framing rather than from nothing.
seed_dir() {
    local target="$1" dir="$root/filter/fuzz/target/seeds/$1" pattern
    case "$target" in
        sse) pattern='*.sse' ;;
        json_array) pattern='*.jsonarray.json' ;;
        eventstream) pattern='*.eventstream.bin' ;;
        request_parsers | toon) pattern='*.json' ;;
        response_path) pattern='*.sse' ;;
        policies) pattern='no-seeds' ;;
    esac
    mkdir -p "$dir"
    if [ -d "$fixtures" ]; then
        find "$fixtures" -name "$pattern" -size -64k -exec cp {} "$dir/" \;
    fi
    echo "$dir"
}

cd "$root/filter"
cargo "${toolchain[@]}" fuzz build --fuzz-dir fuzz
for target in "${targets[@]}"; do
    corpus="$root/filter/fuzz/corpus/$target"
    mkdir -p "$corpus"
    echo "== fuzz $target for ${seconds}s"
    log="$root/filter/fuzz/target/$target.log"
    # libFuzzer prints a line per new input; keep that in a file and show it only on a crash.
    if ! cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz "$target" "$corpus" "$(seed_dir "$target")" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $target crashed; the input is in filter/fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^stat::number_of_executed_units|^Done' "$log" | tr '\n' ' '; echo
done
echo "fuzz smoke: ${#targets[@]} targets ran ${seconds}s each without a crash"
