// Package outbox is the lane's durable, bounded queue of messages waiting
// for the broker's PUBACK: every summary, event and health report is
// committed here first, so the lane keeps working while the uplink is down
// and nothing committed is lost to a power cut.
//
// Only valid payloads enter: Enqueue runs Options.Validate first (default
// SummarySchemas: the class's JSON Schema and the strict summary decoder)
// and refuses the rest with ErrInvalid, counted in ClassStats.Invalid,
// logged and reported to Options.OnInvalid for an event.
//
// Storage is one bbolt file. Writes (Enqueue, Ack, Reject) go to a single
// committer goroutine that takes every operation waiting and commits them
// in one transaction: one fsync per batch, never per record (group commit).
// Enqueue returns only once its record is fsynced, or with an error.
//
// Every message gets a per-outbox (per-lane) sequence number, persisted in
// the same transaction, monotonic and never reused, and a UUIDv7 that
// consumers use to drop duplicates (a message is re-sent if the booth dies
// between PUBACK and Ack). Keys are big-endian seqs, so bbolt's order is
// seq order; each class has its own bucket (q/summary, q/event, q/health)
// and PendingAfter merges them.
//
// Bounds (Limits): a byte bound over all classes and an age bound per
// class. Over the byte bound the oldest message of the lowest class goes
// first: health, then events; a class never displaces a higher one. When
// only summaries are left, the default policy RefuseNew refuses the new
// summary (ErrFull) rather than delete a committed one; DropOldest is the
// alternative. Every drop, expiry and refusal is counted per class in
// Stats (persisted across restarts) and logged; summaries at error level.
//
// A message the broker keeps refusing (Reject, MaxAttempts times) or that
// is marked with Quarantine moves to a quarantine bucket, where it is kept
// (bounded) for inspection and not retried. A record that fails to decode
// (checksum, lengths) is quarantined the same way when Pending meets it.
//
// A damaged file (truncated, zeroed or garbage pages) is found by
// boltcheck with pread before bbolt maps it, so it is never a SIGBUS or a
// panic: Open moves it aside, re-queues every record it can still read,
// with its message id and seq, in a fresh file, and reports the rest as
// lost with their seq range (Recovered, and an error log line). The seq
// continues past a gap above every one used before.
//
// A failed transaction (disk full, I/O error) fails every operation of its
// batch with ErrStorage; nothing of it is half-stored, the failure is
// counted (Stats.StoreErrors, ClassStats.Unstored) and the next batch tries
// again, so the outbox recovers when space returns.
package outbox
