// Package capture makes booth-like probes from an identity set and
// evaluates recognition on them: the degraded-capture evaluation behind
// `laned eval capture`.
//
// A probe is rendered from a clean photo: the photo's dominant face is cut
// with its surroundings, scaled so its eyes are a chosen distance apart
// (24–60 px, what a lane camera gets), pasted into a 1280×720 cabin seen
// through a windshield (tint, haze, a reflection band, the dark frame of
// the glass), then degraded as the optics and sensor would: motion blur
// along the car's travel, veiling glare with a hot spot, under-exposure
// with sensor noise, and MJPEG encoding at camera quality. Each Variant
// fixes one such condition; Moderate lists the levels a working booth
// must handle, Sweep the ones that find where recognition breaks.
//
// Evaluate enrols the clean first image of every identity and probes with
// the rendered rest, per variant, through eval.EvaluateRecognition, so the
// figures (usable, rank1, fnir, fpir, fta) mean exactly what they mean for
// `laned eval recognition`. Rendering is deterministic (seeded per image).
// Nothing rendered is kept unless the caller asks for the frames.
package capture
