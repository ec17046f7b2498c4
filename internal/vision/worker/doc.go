// Package worker is the one inference worker of the process: a single
// goroutine, locked to its OS thread, that runs every face analysis and
// every embedding, so the nets are driven from one place (package onednn
// runs its own calls on one locked thread as well; see its doc).
//
// Callers on other goroutines queue requests through a Client of a given
// Priority: the live lane (PriorityLane) goes before the console and
// enrolment (PriorityConsole), with one console request let through after
// every MaxLaneRun lane requests in a row so a busy lane cannot starve a
// technician forever. A request whose context ends while it waits is
// dropped without running and returns the context's error; one that is
// already running finishes, and its caller gets the context's error.
//
// A Client has exactly the methods the lane engine's Analyzer interface
// declares (Analyze a frame, Embed chosen chips), so the engine compiles
// without cgo against that interface and is tested with fakes. Frames are
// validated (frame.Validate) before any pixel reaches cgo.
//
// Lifecycle: New validates, Run(ctx) serves until ctx ends and returns nil,
// Close is idempotent and fails queued and later requests with ErrClosed.
// The Backend (usually a *pipeline.Pipeline) is the caller's to close,
// after Run has returned.
package worker
