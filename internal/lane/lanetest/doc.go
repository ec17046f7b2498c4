// Package lanetest holds fakes for the lane engine's seams — a scripted
// Analyzer with deterministic fake faces and per-identity fake embeddings,
// an in-memory gallery snapshot, a recording sink and event log — and Eval,
// which runs generated passes (package lane/passgen) through a real lane
// with any Analyzer and reports capture and match figures per variant.
package lanetest
