// Package active owns the gallery the lane matches against: pull → import
// → load → swap, for both the nightly sync (package pull's schedule) and a
// technician's import (laned gallery import, through the local API).
//
// It publishes an immutable Snapshot {index, gallery version, model id,
// loaded at, next validity boundary}. Current never returns nil: before the
// first gallery it is an empty snapshot (searches find nothing, no error)
// and the gallery reports itself degraded to the health tracker. A new
// index is built aside while the old one keeps serving, then swapped in
// one atomic store; a search in flight keeps the snapshot it started with.
// A transaction pins one snapshot (Current) for all its searches, and every
// Search through the Gallery reports the version it used.
//
// Subjects have validity windows (valid_from, valid_until). The index is
// rebuilt at the next boundary on the injected clock, so an expired
// subject stops matching on time; the gallery's own expiry turns the
// health report degraded at that instant too.
package active
