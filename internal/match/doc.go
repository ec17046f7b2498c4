// Package match is the lane's in-memory 1:N index: it finds the gallery
// subjects whose templates are nearest to a probe embedding.
//
// Templates are L2-normalised on insert; the score of a probe against a
// template is their cosine similarity (the inner product of the normalised
// vectors) and the distance is the Euclidean distance of the normalised
// vectors, d = sqrt(2 - 2s), the unit thresholds are calibrated in.
// A subject may have several templates; results are per subject (its best
// template), the top k distinct subjects, best first.
//
// Build an Index with a Builder, publish it through a Live holder, and swap
// in a new one when the gallery changes: searches in flight finish on the
// index they started with.
package match
