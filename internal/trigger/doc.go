// Package trigger is the video trigger, a virtual loop: a cheap
// per-frame occupancy measure in a configured region of one camera's
// frames, with hysteresis, that reports present/absent as
// sensor.Transitions — the same type the GPIO loops report — so a lane
// without loops, or with a faulted loop, still opens and closes vehicles
// (the lane engine chooses loop, video or both and falls back).
//
// The measure compares a sparse grid of colour samples in the region
// with a background learnt while the region is empty (colour, not just
// luma: a red car on dark asphalt has the asphalt's luma), after applying to
// the background the picture's global gain, estimated over the whole
// frame from the samples that still look like background, so an auto-exposure that hunts in a dark lane moves
// the whole picture without opening a vehicle, and a vehicle covering the
// whole region is not mistaken for an exposure change. It costs two
// passes over (w/step)×(h/step) samples per frame and allocates nothing
// after the first frame.
package trigger
