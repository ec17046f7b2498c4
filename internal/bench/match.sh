#!/usr/bin/env bash
# internal/bench/match.sh — the 1:N index (internal/match) beside FAISS
# IndexFlatIP on the same synthetic vectors, in one run; prints the table
# and keeps everything in out/bench-match/. Independent of the Makefile.
#
# Steps: (1) Go writes the galleries and probes (TestWriteVectors, raw
# float32) to a temp dir; (2) internal/bench/faiss/bench.py times IndexFlatIP on them;
# (3) the Go benchmarks run on the same vectors (they regenerate them from the
# same seed and check them against the files); (4) BenchmarkRSS runs alone
# in its own process; (5) the table: ms/probe, FAISS/Go ratios, recall@1,
# the memory-bandwidth floor and how close the scan gets to it.
#
# Needs: Go, /usr/bin/python3 with python3-faiss and python3-numpy (Debian:
# apt-get install -y python3-faiss python3-numpy), ~3 GiB of RAM, ~1.5 GiB
# of temp disk, several minutes (1M sizes).
#
# Environment (optional):
#   BENCH_MATCH_SIZES   sizes (default 10000,100000,1000000)
#   BENCH_GO_TIME       go test -benchtime (default 1s)
#   BENCH_FAISS_SECONDS time budget per FAISS mode and size (default 10)
#   PYTHON              interpreter with faiss (default /usr/bin/python3)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
PYTHON=${PYTHON:-/usr/bin/python3}
sizes=${BENCH_MATCH_SIZES:-10000,100000,1000000}
benchtime=${BENCH_GO_TIME:-1s}
out=out/bench-match
mkdir -p "$out"
vecs=$(mktemp -d "${TMPDIR:-/tmp}/laned-match-vecs.XXXXXX")
trap 'rm -rf "$vecs"' EXIT

say() { printf 'bench-match: %s\n' "$*" >&2; }
"$PYTHON" -c 'import faiss, numpy' 2>/dev/null ||
	{ say "error: $PYTHON cannot import faiss/numpy (apt-get install -y python3-faiss python3-numpy)"; exit 1; }

# Go regexp for the sizes' benchmark names (10000 -> n=10k, 1000000 -> n=1M).
names=$(echo "$sizes" | tr ',' '\n' | awk '{n=$1; if (n>=1000000 && n%1000000==0) s=n/1000000 "M"; else if (n>=1000 && n%1000==0) s=n/1000 "k"; else s=n; printf "%s%s", sep, s; sep="|"}')
export LANED_MATCH_VECS=$vecs LANED_MATCH_SIZES=$sizes

say "writing vectors ($sizes) to $vecs"
"$GO" test -count=1 -run '^TestWriteVectors$' -v ./internal/match/ | grep -E 'n=|^(ok|FAIL)' >&2

say "FAISS IndexFlatIP"
"$PYTHON" internal/bench/faiss/bench.py "$vecs/vectors.json" >"$out/faiss.json"

say "Go benchmarks (benchtime $benchtime)"
"$GO" test -count=1 -run '^$' -benchtime "$benchtime" -timeout 60m \
	-bench "^Benchmark(Search|Exact|Recall|Build)\$/n=($names)(/|\$)|^BenchmarkMemBandwidth\$" \
	./internal/match/ | tee "$out/bench-go.txt" >&2

say "RSS (own process per size)"
: >"$out/bench-rss.txt"
for n in $(echo "$names" | tr '|' ' '); do
	"$GO" test -count=1 -run '^$' -benchtime 1x -bench "^BenchmarkRSS\$/n=$n\$" ./internal/match/ |
		tee -a "$out/bench-rss.txt" >&2
done

"$PYTHON" - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
go = {}
for f in ("bench-go.txt", "bench-rss.txt"):
    for line in open(f"{out}/{f}"):
        m = re.match(r"Benchmark(\S+?)(-\d+)?\s+\d+\s+(.*)", line)
        if not m:
            continue
        vals = dict((u, float(v)) for v, u in re.findall(r"([-\d.e+]+) (\S+)", m.group(3)))
        go[m.group(1)] = vals
faiss = {r["n"]: r for r in json.load(open(f"{out}/faiss.json"))["results"]}
bw = max((v.get("best-MB/s", v.get("MB/s", 0)) for k, v in go.items() if k.startswith("MemBandwidth/")), default=None)
def label(n):
    return f"{n//1000000}M" if n >= 1000000 and n % 1000000 == 0 else f"{n//1000}k"
rows, summary = [], {"bandwidth_MBps": bw, "sizes": {}}
print(f"\nmemory bandwidth (fastest pass summing 1 GiB of uint64, 1 or all goroutines): {bw:.0f} MB/s\n" if bw else "\nno bandwidth figure\n")
kern = next((k for k in ("vnni", "avx2", "go") if any(f"/kernel={k}" in x for x in go)), "go")
print(f"default kernel: {kern}; 'go 1' = pure-Go kernel, 'exact' = Index.Exact (float32 scan)\n")
hdr = ("size", "laned 1", "laned b32", "laned b256", "go 1", "exact 1", "faiss 1", "faiss b32", "faiss/laned 1", "faiss/laned b32",
       "recall@1", "floor ms", "% floor 1", "% floor b256", "build s", "MiB", "rss/bytes")
print("  ".join(f"{h:>12}" for h in hdr))
for n in sorted(faiss):
    l = label(n)
    g = lambda k, u="ms/probe": go.get(k, {}).get(u)
    s1, s32, s256 = (g(f"Search/n={l}/batch={b}/kernel={kern}") for b in (1, 32, 256))
    sgo = g(f"Search/n={l}/batch=1/kernel=go")
    ex = g(f"Exact/n={l}/batch=1")
    mb = g(f"Search/n={l}/batch=1/kernel={kern}", "scanMB/probe")
    c1, c32, c256 = (g(f"Search/n={l}/batch={b}/kernel={kern}", "cpu-ms/probe") for b in (1, 32, 256))
    floor = mb / bw * 1000 if mb and bw else None
    f1, f32 = faiss[n]["single_ms_per_probe"], faiss[n]["batch_ms_per_probe"]
    d = {"kernel": kern, "cpu_ms_single": c1, "cpu_ms_batch32": c32, "cpu_ms_batch256": c256, "go_single_ms": s1, "go_batch32_ms": s32, "go_batch256_ms": s256, "go_purego_single_ms": sgo, "exact_single_ms": ex,
         "faiss_single_ms": f1, "faiss_batch32_ms": f32,
         "faiss_over_go_single": f1 / s1 if s1 else None, "faiss_over_go_batch32": f32 / s32 if s32 else None,
         "recall_at_1": g(f"Recall/n={l}", "recall@1"), "scan_MB_per_probe": mb, "floor_ms": floor,
         "floor_pct_of_batch256": 100 * floor / s256 if floor and s256 else None,
         "floor_pct_of_single": 100 * floor / s1 if floor and s1 else None,
         "build_s": g(f"Build/n={l}", "s/build"), "bytes_MiB": g(f"Build/n={l}", "MiB"),
         "rss_over_bytes": g(f"RSS/n={l}", "rss/bytes"), "rss_over_bytes_after_gc": g(f"RSS/n={l}", "rss/bytes-afterGC"),
         "rss_base_MiB": g(f"RSS/n={l}", "baseMiB")}
    summary["sizes"][l] = d
    cols = (d["go_single_ms"], d["go_batch32_ms"], d["go_batch256_ms"], d["go_purego_single_ms"], d["exact_single_ms"], f1, f32,
            d["faiss_over_go_single"], d["faiss_over_go_batch32"], d["recall_at_1"], floor, d["floor_pct_of_single"], d["floor_pct_of_batch256"],
            d["build_s"], d["bytes_MiB"], d["rss_over_bytes"])
    print(f"{l:>12}  " + "  ".join(f"{c:>12.4g}" if c is not None else f"{'-':>12}" for c in cols))
json.dump(summary, open(f"{out}/bench-match.json", "w"), indent=2)
print(f"\n(ms per probe, wall; ratios are FAISS/laned, >1 means laned is faster; floor = scanMB/probe / bandwidth,")
print(f" % floor = floor / measured; rss/bytes = VmRSS growth / Bytes() after FreeOSMemory; details in {out}/)")
for l, d in summary["sizes"].items():
    print(f"cpu-ms/probe {l}: single {d['cpu_ms_single']}, batch32 {d['cpu_ms_batch32']}, batch256 {d['cpu_ms_batch256']}; "
          f"rss/bytes right after GC (before returning freed pages): {d['rss_over_bytes_after_gc']}")
one = summary["sizes"].get("1M")
if one and one["go_single_ms"]:
    ok = one["go_single_ms"] <= 15 and (one["recall_at_1"] or 0) >= 0.999
    print(f"acceptance 1M: single {one['go_single_ms']:.2f} ms/probe (goal <= 15), recall@1 {one['recall_at_1']} (goal >= 0.999): {'met' if ok else 'NOT met'}")
PY
