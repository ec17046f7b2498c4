// Package store is the central office's database for laned collect: SQLite
// (modernc.org/sqlite, pure Go, no server) for a small office or a test,
// PostgreSQL (github.com/jackc/pgx/v5) when several collectors share the
// load. Both run the same schema (migrations/*.sql, embedded, applied in
// order at Open and recorded in schema_migrations) and the same statements:
// times are Unix microseconds in BIGINT and ids are text.
//
// Commit stores one batch in one transaction: every message once by its
// message_id (the unique key; a second copy is counted as a duplicate of
// its lane, not stored), the per-lane sequence ledger (highest sequence,
// open gaps, out-of-order arrivals), lane status and health, and refused
// payloads in the quarantine table with their reason. The caller
// acknowledges the messages to the broker only after Commit returns nil.
//
// With PostgreSQL several collectors may commit at once: each batch locks
// the rows of the lanes it touches (in a fixed order, so two batches cannot
// deadlock) before it reads their ledgers, and the unique keys decide any
// race that remains.
package store
