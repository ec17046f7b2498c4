// Package pull fetches the lane's gallery bundle from the central office
// over HTTP(S) and hands it to the store, on a nightly schedule.
//
// A fetch is a conditional GET (If-None-Match with the ETag of the last
// bundle handed over, so an unchanged gallery costs one 304), resumes an
// interrupted download with Range/If-Range, bounds every phase with a
// timeout, and can present a client certificate and trust a private CA.
//
// The schedule runs inside the daemon (Scheduler, with an injected clock)
// rather than as a systemd timer: the daemon holds the gallery's bbolt file
// open with bbolt's exclusive lock for matching, so a separate sync process
// could not write it, and after an import the daemon must rebuild and swap
// its in-memory index anyway. Each night's run happens at a uniformly random
// point of the configured window, so a fleet of lanes spreads its load on
// the central office, and a failed run is retried within the window.
package pull
