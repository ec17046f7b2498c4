// Package console is the technician console of the booth: one
// line-oriented command interpreter (Interpreter) with roles, served on two
// transports: the console Unix socket, where the caller is identified by its
// peer credentials (SO_PEERCRED uid/gid mapped to a role through group
// names, the socket file's group being the first gate), and a serial port,
// where a technician logs in with a per-user argon2id credential (Users)
// guarded by a growing delay and a lockout (Limiter). Every command and
// every login attempt is audited (Auditor: the journal through slog, and an
// MQTT event once the event emitter is wired).
//
// The interpreter knows nothing of cameras or MQTT: it dispatches to a
// Backend, which the daemon's local API client implements. Snapshots are
// biometric: they are technician-only, streamed to the caller and never
// written by the console. No secret reaches any output: configuration is
// shown with secret keys redacted, and every transport's output passes a
// Redactor that replaces the secret values it was given.
//
// Lifecycle: NewServer validates, Run(ctx) serves until ctx is cancelled
// and returns nil, Close is idempotent. Time comes from an injected
// clock.Clock (idle logout, login delays, lockout).
package console
