// Package replay runs the real lane engine over recorded passes as fast as
// the pipeline allows, on a simulated clock: `laned replay`, the lane's
// evaluations on generated passes, and the demo all drive a lane this way.
//
// A Feeder merges the cameras' frames (each stamped with its capture time:
// frame i at i×1000/fps ms) and the sensors' transitions into one time
// line. For each instant it moves the fake clock there, hands the lane the
// transitions and frames of that instant, runs the video triggers over the
// frames when the lane has no loops, and waits until the lane has handled
// them (lane.Sync) before the next instant: nothing is skipped, so a
// replay is deterministic and its summaries are those a booth whose
// inference kept up would have sent.
//
// The summaries come out through a Sink that stamps each payload with a
// message id and a sequence, as the uplink does before publishing: one
// JSON line per vehicle, the exact MQTT payload.
package replay
