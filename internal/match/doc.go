// Package match is the lane's in-memory 1:N index: it finds the gallery
// subjects whose templates are nearest to a probe embedding.
//
// # Scores
//
// Templates (and probes) are L2-normalised on insert; the score of a probe
// against a template is their cosine similarity, the inner product of the
// normalised vectors, and Result.Distance is the Euclidean distance of the
// normalised vectors, d = sqrt(2 - 2s), the unit thresholds are calibrated
// in. A subject may have several templates; results are per subject (its
// best template), the top k distinct subjects, best first, ties by subject
// id. Every returned Score is the exact float32 score. NaN, Inf, zero and
// wrong-dimension vectors are refused with an error naming the subject (or
// the probe's position).
//
// # API
//
//	b := match.NewBuilder(128, n)      // dimension, expected templates
//	err := b.Add("subject-id", vec)    // once per template
//	ix, err := b.Build()               // immutable, safe for concurrent use
//	rs, err := ix.Search(probe, k)
//	rss, err := ix.SearchBatch(probes, k)
//
// Index.Exact is the plain float32 scan, the reference Search's recall is
// measured against.
//
// # Representation
//
// Each template is held twice: as float32 (4 bytes per dimension) for exact
// scores, and as int8 with one float32 scale per template (the row's
// largest magnitude maps to 127), zero-padded to a multiple of 32 bytes, for
// the scan. At 1M templates of 128-D that is 512 MiB + 128 MiB + 4 MiB, plus
// subject tables (8 bytes per template, 4 per subject) and the subject ids:
// Bytes() reports it (632.5 MiB for the synthetic 1M gallery).
//
// A per-template scale rather than one global scale: normalised embeddings
// spread their energy unevenly, and a global scale sized for the largest
// component anywhere in the gallery would leave typical templates only a
// few bits; a per-template scale keeps every row at full 8-bit resolution
// for 4 bytes a row (3% more to scan), and ranking needs just one multiply
// per template. The probe is quantised the same way; its scale is common to
// all rows and drops out of the ranking.
//
// The float32 copy stays in memory rather than re-ranking from a compact
// store: it gives exact scores (thresholds are calibrated on float scores),
// it is read only for the few re-ranked subjects, and at 1M it fits a booth
// computer's RAM (measured RSS is in the benchmarks).
//
// # Search
//
// SearchBatch splits the templates into GOMAXPROCS contiguous shards (one
// goroutine each; one in all below 16k templates). A shard walks its rows
// in blocks of 128 (16 KiB at 128-D, in L1) and scores each block against
// every probe of the batch (up to 64 at a time) before moving on, so a
// batch reads the gallery from memory once. Each probe keeps, per shard, a
// small heap of the best k+31 distinct subjects by int8 score; the best
// k+31 of the shards' union are re-ranked with the exact float32 scores of
// all their templates.
//
// The int8 kernel: AVX-512 VNNI (VPDPBUSD, 4 rows per step) where the CPU
// has it, else AVX2 (VPSIGNB + VPMADDUBSW + VPMADDWD, 4 rows per step),
// else pure Go (unrolled, int32 accumulators; also the `purego` build tag).
// All are exact integer dot products and a test checks they agree.
//
// # Swapping
//
// An Index is immutable. Package gallery/active builds one aside while the
// lane keeps matching and swaps it in as part of a versioned snapshot: a
// search in flight finishes on the index it started with, and the old index
// is freed once no search holds it.
//
// # Benchmarks
//
// internal/bench/match.sh runs the benchmarks on synthetic clustered galleries
// of 10k, 100k and 1M templates (see synth_test.go for the generator) next
// to FAISS IndexFlatIP on the same vectors, with recall@1 against Exact, the
// memory-bandwidth floor, build time and RSS. TestRecall100k asserts
// recall@1 >= 99.9% at 100k in the ordinary test run.
package match
