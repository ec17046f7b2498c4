// Package boltcheck checks a bbolt file with pread before bbolt maps it.
//
// bbolt trusts its file: a truncated file makes it touch a mapped page
// past the end (SIGBUS, which no recover catches), a zeroed or garbage page
// makes it panic on an unknown page type or an out-of-range element. Check
// reads the two meta pages (magic, version, page size, checksum, the high
// water mark against the file size) and walks every page reachable from
// the root bucket (page ids, types, overflow, element bounds, nested and
// inline buckets), all with ReadAt into bounded buffers, so it cannot fault
// and returns an error naming what is damaged. A file that passes can be
// opened by bbolt without reading outside the file or an invalid page.
//
// Scan is the salvage side: it reads every page of a damaged file, valid
// tree or not, and yields every leaf key/value it can bound-check, for a
// caller that can recognise its own records (by their checksums).
package boltcheck
