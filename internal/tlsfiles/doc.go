// Package tlsfiles builds the client side of a TLS connection from files a
// technician installs: a CA bundle to trust instead of the system's, and an
// optional client certificate with its key. The uplink (MQTT) and the
// gallery pull (HTTPS) both use it, so both refuse the same mistakes with
// the same words.
package tlsfiles
