#!/usr/bin/python3
"""FAISS IndexFlatIP on laned's synthetic 1:N galleries: the peer for
internal/match's benchmarks (internal/bench/match.sh runs both in one run).

Reads vectors.json written by internal/match's TestWriteVectors (raw
little-endian float32 files, already L2-normalised, so inner product =
cosine, exactly what laned scores) and prints one JSON object on stdout:

  {"faiss_version": ..., "threads": ..., "results": [
     {"n": 1000000, "dim": 128, "single_ms_per_probe": ..., "single_probes": ...,
      "batch": 32, "batch_ms_per_probe": ..., "batch256_ms_per_probe": ..., "build_s": ...}, ...]}

Single-probe search is timed over probes one by one until BENCH_FAISS_SECONDS
(default 10) per size have passed or all probes are used (at least 5);
batched search over batches of 32 and (n <= 100k: a batch of 256 at 1M takes
minutes) 256 probes the same way.
Bench only: laned never imports FAISS.
"""
import json
import os
import sys
import time

import faiss
import numpy as np


def timed(fn, probes, batch, budget):
    """ms per probe of fn over consecutive batches of probes, within budget s."""
    done, t0 = 0, time.perf_counter()
    while done < len(probes):
        fn(probes[done:done + batch])
        done += len(probes[done:done + batch])
        if time.perf_counter() - t0 > budget and done >= 5:
            break
    return (time.perf_counter() - t0) * 1e3 / done, done


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench.py VECTORS_DIR/vectors.json")
    budget = float(os.environ.get("BENCH_FAISS_SECONDS", "10"))
    threads = int(os.environ.get("BENCH_FAISS_THREADS", "0")) or os.cpu_count()
    faiss.omp_set_num_threads(threads)
    with open(sys.argv[1]) as f:
        sets = json.load(f)
    out = []
    for s in sets:
        n, dim = s["n"], s["dim"]
        g = np.fromfile(s["gallery"], dtype="<f4")
        if g.size != n * dim:
            sys.exit(f"{s['gallery']}: {g.size} floats, want {n}x{dim}")
        g = g.reshape(n, dim)
        p = np.fromfile(s["probe_file"], dtype="<f4").reshape(-1, dim)
        t0 = time.perf_counter()
        ix = faiss.IndexFlatIP(dim)
        ix.add(g)
        build = time.perf_counter() - t0
        k = 1
        search = lambda q: ix.search(np.ascontiguousarray(q), k)
        search(p[:1])  # warm up
        single, ns = timed(search, p, 1, budget)
        b32, nb = timed(search, p, 32, budget)
        b256, nb256 = (timed(search, p, 256, budget) if n <= 100_000 else (None, 0))
        r = {"n": n, "dim": dim, "build_s": round(build, 3),
             "single_ms_per_probe": round(single, 4), "single_probes": ns,
             "batch": 32, "batch_ms_per_probe": round(b32, 4), "batch_probes": nb,
             "batch256_ms_per_probe": b256 and round(b256, 4), "batch256_probes": nb256}
        print(f"faiss: n={n} single {single:.3f} ms/probe, batch32 {b32:.3f}, batch256 {b256}",
              file=sys.stderr)
        out.append(r)
        del ix, g
    json.dump({"faiss_version": faiss.__version__, "threads": threads, "results": out},
              sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
