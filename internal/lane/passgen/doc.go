// Package passgen generates vehicle passes for the lane: occupants' faces
// (from photos, or drawn) composed into a vehicle moving through one or two
// cameras' views, at a chosen speed, with glare, motion blur and low-light
// variants, empty-lane stretches between vehicles, and the matching
// arrival/departure loop and video-trigger transitions. Everything is
// deterministic for a seed, and rendering is lazy (a frame is drawn when
// asked for), so long scenarios cost no memory.
//
// Geometry: each camera looks across the lane at a 6 m stretch; a vehicle
// (4.5 m) enters at the left, the arrival loop sits at 1.5 m and the
// departure loop at 4.5 m, each active while the vehicle's body is over it.
// The video trigger is active while any part of a vehicle is in view.
// Faces sit in the side windows: the front row 1.6–2.2 m behind the
// vehicle's front, the rear row 2.8–3.3 m. The "front" camera sees the
// front row larger; a second camera sees the rear row larger.
//
// Ground truth (Faces) gives every visible face's box, person and
// variant, so a scripted analyzer can stand in for inference in tests, and
// an evaluation can score a real one (package lane/lanetest).
package passgen
