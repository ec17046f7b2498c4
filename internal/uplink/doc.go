// Package uplink publishes the lane's outbox to the central office's MQTT
// broker (paho.mqtt.golang, MQTT 3.1.1, QoS 1) and reports why it cannot
// when it cannot.
//
// Topics, under a configurable prefix:
//
//	{prefix}/{site}/{lane}/transactions  one summary per vehicle (outbox KindSummary)
//	{prefix}/{site}/{lane}/events        faults and audit (KindEvent)
//	{prefix}/{site}/{lane}/health        periodic health report (KindHealth, queued by package health)
//	{prefix}/{site}/{lane}/status        retained: "online" with the version at connect,
//	                                     "offline" as the last will and at a clean shutdown
//
// Payloads are the JSON documents of package summary, stamped at publish
// time with the outbox's message_id (UUIDv7) and sequence.
//
// # The outbox is the source of truth
//
// A message leaves the outbox only when the broker's PUBACK completes its
// token without error; then it is acknowledged (deleted) in the outbox,
// in batches. The paho client uses a clean session and its memory store,
// with paho's auto-reconnect and connect-retry off: paho's file store can
// lose messages after a power cut (paho #681) and messages handed to paho
// before its first connection can be lost (paho #438), so nothing is
// handed to paho before a connection is up, and after every reconnect the
// publisher re-sends from the start of the outbox whatever is still
// unacknowledged. The price is duplicates (a PUBACK lost with the link, or
// the booth dying between PUBACK and Ack): consumers drop them by
// message_id. A new paho client is made for each connection attempt, as
// paho advises against reusing a disconnected client.
//
// # Order: sequence numbers, not a window of one
//
// Up to in_flight (default 64) messages wait for their PUBACK at once.
// Over one connection MQTT keeps them in order, and after a reconnect the
// re-send starts again from the oldest unacknowledged message, so the
// first copy of each message normally arrives in order; but a
// consumer must not rely on that across brokers (failover) or broker
// restarts, so every payload carries the per-lane outbox sequence
// (strictly increasing, never reused; gaps are messages of another kind or
// dropped at the outbox bound, which the outbox counts). Consumers restore
// order by sequence and drop duplicates by message_id. A window of one
// (in_flight: 1) would make the wire strictly ordered too, but costs one
// round trip per vehicle: over a 50 ms link that is 20 messages/s, too
// slow to drain a day's backlog after an outage; BenchmarkDrain measures
// both.
//
// # Reconnect
//
// Run tries the brokers in order (failover), then waits
// backoff_min·2^round, capped at backoff_max, ±jitter, on the injected
// clock, and tries again, forever: laned starts and keeps queuing in the
// outbox when no broker is reachable. Status says why it is not connected
// (unreachable broker, TLS: unknown CA, TLS: wrong hostname, TLS:
// certificate expired, refused credentials, ...), classified with
// errors.As on the x509 and tls error types.
//
// A payload larger than max_payload is refused before it reaches the
// broker and moved to the outbox quarantine with the reason; a message
// the broker refuses while the connection stays up is Rejected and
// quarantined by the outbox after its MaxAttempts.
package uplink
