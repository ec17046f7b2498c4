// Package store is the lane's gallery database: a bbolt file holding the
// active gallery generation, encrypted at rest, and the state that guards
// it (highest version ever activated, key check value).
//
// Import streams a verified bundle (package bundle) into a new generation
// over several transactions in sorted key order, checks the count and the
// digest, and only then flips the active pointer in one small transaction
// and frees the previous generation. A crash at any point leaves the old or
// the new generation active, whole; Open removes whatever a crash left
// half-written. Anti-rollback, delta bases, expiry and the recogniser's
// model id/dimension are checked before anything is written.
//
// Each record is stored as its bundle protobuf bytes sealed with
// AES-256-GCM under a random nonce, with the generation and subject id as
// additional data so records cannot be swapped or replayed across
// generations. The key comes from a 0600 file or a systemd credential;
// Open refuses a wrong key by a stored key check value, before any record
// is read. The layout is documented in docs/gallery-bundle.md.
//
// LoadIndex (and Load, which also reports the next validity boundary)
// decrypts the active generation into a match.Index; package
// gallery/active builds the new index while the old one keeps serving and
// swaps it in as a versioned snapshot.
package store
