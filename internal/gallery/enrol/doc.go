// Package enrol turns the central office's enrolment folders (one folder of
// photos per subject) into gallery bundle records, through any Enroller —
// in laned, the real face pipeline (pipeline.Pipeline.EnrollFile).
//
// Every photo the enroller refuses (no face, more than one face, quality
// too low, not an image) is listed in the Report with its reason, never
// silently dropped; a subject left with no usable photo is listed too and
// left out of the bundle.
package enrol
