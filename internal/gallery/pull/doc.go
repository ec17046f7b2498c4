// Package pull fetches the lane's gallery bundle from the central office
// over HTTP(S) and hands it to the store, on a nightly schedule.
//
// A fetch is a conditional GET (If-None-Match with the ETag of the last
// bundle handed over, so an unchanged gallery costs one 304), resumes an
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
