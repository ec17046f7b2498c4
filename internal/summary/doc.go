// Package summary defines the JSON payloads laned sends to the central
// office: the transaction summary (one per vehicle, schema version 2; the
// decoder still reads version 1, see transaction.go), the lane status
// (retained online/offline), the periodic health report and fault and audit
// events (version 1).
//
// Each kind has a JSON Schema (draft 2020-12) in schema/*.schema.json,
// embedded in the binary (Schemas, ValidateJSON) and documented in
// docs/uplink.md. Every payload carries schema_version; a consumer that sees
// a version it does not know must not guess.
//
// Privacy by construction: a summary carries ids, times, the per-occupant
// decision, subject id and score when matched, score and top candidates
// when a candidate, attempt counts, quality, gallery version,
// model id and latencies, never an image, crop or template. The schemas
// forbid additional properties and the decoder rejects unknown fields, so a
// template cannot be smuggled in a new field. The schemas are enforced, not
// only tested: Marshal and every decode check the JSON Schema too (the Go
// decoder alone matches keys case-insensitively and takes null for absent),
// Marshal writes every time in UTC, and the outbox stores a payload only
// after CheckUnstamped accepts it.
//
// message_id and sequence are not set by the lane: they are the outbox's
// UUIDv7 and per-lane sequence number, spliced in by the uplink at publish
// time (Stamp), identical on every re-send of the same message, so
// consumers drop duplicates by message_id and restore per-lane order by
// sequence.
package summary
