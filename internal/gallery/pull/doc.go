// Package pull fetches the lane's gallery bundle from the central office
// over HTTPS and hands it to the store, on a nightly schedule.
//
// Only https:// is fetched (plain HTTP only with the test-only AllowHTTP),
// and no redirect may leave https or the configured host. A download is
// bounded: refused before its body when the announced length is over
// MaxBytes or would leave less than Reserve free on the state directory's
// disk (which also holds the outbox), stopped at MaxBytes or at the length
// the bundle's own header declares, and the partial file is 0600. The ETag
// is recorded only after the importer took the bundle: a refused bundle
// (ErrRefused, with the importer's reason) is fetched again next window.
//
// A fetch is a conditional GET (If-None-Match with the ETag of the last
// bundle imported, so an unchanged gallery costs one 304), resumes an
// interrupted download with Range/If-Range, bounds every phase with a
// timeout, and can present a client certificate and trust a private CA.
//
// The schedule runs inside the daemon (Scheduler, with an injected clock)
// rather than as a systemd timer: the daemon owns the gallery store (bbolt
// takes an exclusive lock on the file) and must rebuild and swap its
// in-memory index after every import. A timer-started process would contend
// with the daemon for that lock and then have to signal it to reload; in
// the daemon, fetch, import and swap are one sequence, and the window,
// jitter and retry logic is tested with a fake clock. Each night's run
// happens at a uniformly random point of the configured window, so a fleet
// of lanes spreads its load on the central office, and a failed run is
// retried while the window lasts.
package pull
