// Package pgtest starts a real PostgreSQL server for tests: Debian's
// postgresql package (initdb and postgres from /usr/lib/postgresql/N/bin),
// a fresh cluster in a temporary directory, listening on a free loopback
// port, stopped at the end of the test. Tests skip, saying so, when the
// binaries are not installed (Debian: apt-get install postgresql).
//
// Run as root (CI on a fresh Debian machine), the cluster is owned by and
// the server runs as the "postgres" user the package creates, since
// PostgreSQL refuses to run as root.
package pgtest
