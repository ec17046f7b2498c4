// Package collect is the central office's consumer of the lanes' MQTT
// uplink (`laned collect`): it stores every lane's transactions, events and
// health exactly once, keeps lane status, proves nothing went missing and
// scales out over several processes.
//
// Data flow: broker (persistent session, QoS 1, manual acknowledgement) →
// queue → ingest (topic, size, UTF-8, JSON Schema, Go decoder, lane checks:
// a refused payload becomes a quarantine row with its reason) → one store
// transaction per batch (package store) → PUBACK of every message of the
// batch. A message is acknowledged only after its batch committed, so a
// collector killed at any moment loses nothing: the broker redelivers what
// was not acknowledged, and the unique message_id turns the redelivery into
// a counted duplicate. Batches form by themselves: while one commits, the
// next accumulates (group commit), so a quiet office commits each message
// at once and a busy one commits hundreds per transaction.
//
// Loss detection: each lane's sequence ledger (store.Ledger) records gaps;
// a gap open longer than Config.Grace is logged, counted in the metrics
// and listed by `laned collect gaps`, beside lanes whose status is offline
// or that stopped sending health.
//
// Scale-out: Config.Group subscribes through `$share/GROUP/…`, so the
// broker spreads messages over every collector of the group (each with its
// own client id); with PostgreSQL their commits are safe together (each
// batch locks its lanes' ledger rows; the unique keys decide). Brokers are
// tried in order (failover). See docs/collect.md.
package collect
