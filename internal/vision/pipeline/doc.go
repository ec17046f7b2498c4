// Package pipeline runs the face pipeline on one image: detect → quality →
// align → embed. It is what the lane, the gallery builder, `laned identify`
// and the evaluations call; each stage sits behind a small interface
// declared here, so the stages can be tested and replaced one at a time.
//
// Faces that fail the quality check are reported with the reason and are
// not embedded: a template from a blurred or turned face matches badly and
// would only add false non-matches. Chips and templates live only as long
// as the call that made them: nothing is kept.
package pipeline
