// Package internal holds laned's packages. This file states, once, the
// lifecycle contract every long-running component follows (outbox, uplink,
// gallery/active, health, events, localapi, and what the daemon adds later:
// lane, cameras, sensors, metrics):
//
//   - New or Open validates its options and allocates. It fails with an
//     error naming the bad field or file; it starts no goroutine that
//     outlives a failed call. Options are plain structs whose zero fields
//     take documented defaults, filled field by field.
//   - Run(ctx) error does the component's work until ctx is cancelled or
//     Close is called, and then returns nil. It returns a non-nil error
//     only for a failure the component cannot work through (a bad
//     configuration found late, Run called twice); transient faults
//     (broker down, disk full, bad bundle) are retried, reported to the
//     health tracker and emitted as events, never returned.
//   - Close releases what New/Open took (files, sockets, goroutines) and
//     is idempotent: a second Close returns nil and does nothing. Close may
//     be called without Run, and after Run returned. Where Run is running,
//     Close makes it return.
//   - Methods that read state (Status, Snapshot, Stats, Current) are safe
//     from any goroutine at any time, including before Run and after Close.
//
// Time comes from an injected clock (package clock), logs from an injected
// *slog.Logger scoped with .With("component", name), and errors are wrapped
// with the operation (%w). The daemon (package daemon) builds the graph of
// components in one place, runs every Run under one errgroup and closes
// them in reverse order of construction.
package internal
