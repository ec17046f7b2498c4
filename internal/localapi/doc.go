// Package localapi is the daemon's local API: HTTP over a Unix socket
// (mode 0660, owned by a configured group, so only root and that group can
// connect), with a Go client for the laned commands. Every connection's
// peer credentials (SO_PEERCRED: pid, uid, gid) are read when it is
// accepted, logged with each request and passed to handlers (Peer), so an
// import is audited with who asked for it.
//
// It is a transport: the routes below serve the components the daemon
// hands it (small interfaces declared here), and other packages (the
// console) add their own with Handle.
//
//	GET  /v1/status          daemon version, uptime
//	GET  /v1/health          health.Snapshot
//	GET  /v1/gallery/status  active.Status
//	POST /v1/gallery/import  body: a bundle; answer: the imported manifest
//	GET  /v1/outbox/status   outbox.Stats
//
// ServeOps adds the technician console's routes (ops.go: status, gallery
// info/sync/import-file, outbox, models, config, log, events, selftest,
// and the lane's cameras, sensors and trigger test once registered with
// Routes.SetLane); Backend is the console.Backend over them, Fallback the
// one that answers offline while no daemon runs.
//
// Errors are {"error": "..."} with a 4xx/5xx status. A command that finds
// no socket, or a socket nobody listens on, gets ErrNoDaemon and opens the
// files itself (docs/local-api.md says which commands do).
package localapi
