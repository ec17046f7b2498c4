#!/usr/bin/env bash
# internal/bench/bench.sh — laned's Go vision benchmarks beside the JavaScript
# reference (@vladmandic/face-api on TensorFlow.js WASM), same frames, same
# run; prints the Go/JS table and writes out/bench.json. Called by `make bench`.
#
# Needs: Go, OpenCV 4.6 dev packages, node + npm, and the model cache
# (`laned models fetch`, done by set-up) holding face-api's demo photos.
#
# Environment (all optional):
#   LANED_MODEL_DIR     model cache (default models/cache)
#   LANED_BENCH_FRAMES  where the frames are written/read (default models/cache/bench)
#   BENCH_GO_FILTER     go test -bench regexp (default .)
#   BENCH_GO_TIME       go test -benchtime (default 1s)
#   BENCH_GO_PKGS       packages (default ./internal/vision/...)
#   BENCH_ITERS, BENCH_WARMUP, BENCH_MAX_SECONDS, BENCH_MIN_CONFIDENCE  see internal/bench/reference/bench.mjs
#   BENCH_STRICT=1      exit 1 when an acceptance goal is missed or has no figure
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
ref=internal/bench/reference
out=out
mkdir -p "$out"

export LANED_MODEL_DIR=${LANED_MODEL_DIR:-$repo/models/cache}
export LANED_BENCH_FRAMES=${LANED_BENCH_FRAMES:-$repo/models/cache/bench}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v node >/dev/null || die "node not found (install Debian's nodejs and npm packages)"
command -v npm >/dev/null || die "npm not found (install Debian's npm package)"
[ -x "$GO" ] || command -v "$GO" >/dev/null || die "go not found (run make setup)"
[ -d "$LANED_MODEL_DIR/face-api/demo" ] || die "$LANED_MODEL_DIR/face-api/demo missing: run \`laned models fetch\` (make setup)"

t0=$SECONDS

# (i) the JS reference's packages, exactly as locked; skipped when the lock
# file has not changed since the last successful install.
stamp=$ref/node_modules/.laned-lock.sha256
want=$(sha256sum "$ref/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  say "npm ci in $ref"
  (cd "$ref" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in $ref failed (is the npm registry reachable?)"
  echo "$want" >"$stamp"
fi

# (ii) the shared frames (lossless PNG) from internal/bench/frames.json.
"$GO" run ./internal/bench/mkframes -frames internal/bench/frames.json -out "$LANED_BENCH_FRAMES" || die "making the benchmark frames failed"

# (iii) Go benchmarks. A package that fails (or does not build yet) is
# reported and its rows become n/a; the run goes on.
say "go test -bench '${BENCH_GO_FILTER:-.}' -benchtime ${BENCH_GO_TIME:-1s} ${BENCH_GO_PKGS:-./internal/vision/...}"
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a; }
export BENCH_LOAD_GO="$(load)"
go_rc=0
# shellcheck disable=SC2086
"$GO" test -run '^$' -bench "${BENCH_GO_FILTER:-.}" -benchtime "${BENCH_GO_TIME:-1s}" -count 1 \
  ${BENCH_GO_PKGS:-./internal/vision/...} >"$out/bench-go.txt" 2>&1 || go_rc=$?
grep -E '^(Benchmark|pkg:|FAIL|--- FAIL|--- SKIP|ok )' "$out/bench-go.txt" >&2 || true
[ "$go_rc" = 0 ] || say "warning: go test exited $go_rc (see $out/bench-go.txt); missing figures show as n/a"

# (iv) the JavaScript reference on the same frames.
say "node $ref/bench.mjs"
export BENCH_LOAD_JS="$(load)"
js_rc=0
node "$ref/bench.mjs" "$LANED_BENCH_FRAMES" >"$out/bench-js.json" || js_rc=$?
[ "$js_rc" = 0 ] || say "warning: the JavaScript reference failed (exit $js_rc); its figures show as n/a"

# (v) table + out/bench.json.
export BENCH_LOAD_END="$(load)"
echo
node "$ref/summary.mjs" "$out/bench-go.txt" "$out/bench-js.json" "$out/bench.json"
say "wrote $out/bench.json ($((SECONDS - t0)) s)"
