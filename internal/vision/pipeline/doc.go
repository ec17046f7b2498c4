// Package pipeline runs the face pipeline: detect → quality → align →
// embed. Each stage sits behind a small interface declared here, so the
// stages can be tested and replaced one at a time.
//
// The API is split the way a lane consumes it:
//   - Analyze (a Mat) and AnalyzeFrame (a frame.Frame, validated and copied
//     into a pooled Mat) detect every face, judge it (vision.Quality: a
//     typed Verdict and a 0–1 Score) and cut the aligned 150×150 chip of
//     each usable face as owned bytes, stamped with the frame's camera,
//     sequence and capture time: vision.Analysis, cgo-free.
//   - Embed turns the chips a consumer chose into templates, in one batch.
//
// The lane calls both through the one inference worker (package
// vision/worker), which owns the nets. Process, ProcessFile, EnrollFile
// and ProbeFile (the one-shot commands: identify, enrolment, evaluations)
// are Analyze followed by Embed of every usable chip.
//
// Faces that fail the quality check are reported with the verdict and are
// not embedded: a template from a blurred or turned face matches badly and
// would only add false non-matches. Per-frame and per-face Mats are pooled
// (TestMemoryFlat); chips and templates live only as long as the caller
// keeps them.
package pipeline
