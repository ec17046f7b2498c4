// Package lane is the vehicle transaction engine: it turns the frames of a
// lane's cameras and the transitions of its presence inputs into one
// summary per vehicle.
//
// # Data flow
//
//	camera Source ──Offer──▶ latest-frame slot per camera ─┐
//	sensor / video trigger ──Signal──▶ state machine        ├─▶ one worker: Analyze → track → best-K → Embed → Search
//	                                                         └─▶ summary → Sink (outbox), faults → Events
//
// One goroutine (Run) owns the state: it is the lane's single consumer of the
// analysis API, so frames of all cameras go through one inference worker.
// Each camera has a slot holding only its latest frame: a frame replaced
// before it was analysed is counted as skipped, so memory never grows with
// the frame rate; the camera whose capture zone was occupied most recently
// is served first. Every time (detected_at, track times, margins) is a
// capture time carried by the frame or the signal, never processing time.
//
// # Transaction
//
// idle → present/capturing (arrival loop, or the video trigger per
// Config.Trigger, with automatic fallback to video while a loop is faulted,
// reported or detected stuck on) → post margin after departure → deciding →
// emitted. A new arrival during capture closes the open vehicle (end
// next_vehicle); Config.MaxCapture bounds a capture (end max_capture).
//
// Faces are tracked per camera by IoU, predicted position and a coarse
// appearance signature; a face outside the camera's capture zone is ignored
// and one touching the frame edge never counts as a best shot. Each track
// keeps its best K usable chips by quality score, replacing the worst only
// when a new shot beats it by Config.Hysteresis; only those are embedded
// (one early embedding when a clearly better shot arrives, within
// Config.EmbedBudget). At the decision, tracks of one person in two cameras
// (or a track broken by a gap) are merged by template similarity, inside the
// transaction only; the K templates are fused (mean) or vote (Config.Fusion)
// and searched in the one gallery snapshot pinned at the transaction's start.
// Score ≥ MatchThreshold is a match, below UnknownThreshold a no_match, in
// between a candidate that carries the score and the top candidates, never
// an identity. An occupant with no usable shot gets the reason of its best
// attempt.
//
// # Privacy
//
// Frames, chips and templates live in memory only and are zeroed when the
// transaction is emitted. Evidence crops of no-match occupants go to an
// EvidenceSink only when Config.Evidence is on (off by default); package
// lane/evidence encrypts them at rest and deletes them after their TTL.
//
// # Lifecycle
//
// New validates; Run(ctx) returns nil on cancellation after finishing the
// open transaction (its occupants without a usable image get reason
// timeout, end shutdown) within Config.ShutdownTimeout; Close is idempotent.
package lane
