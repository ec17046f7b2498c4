// Package evidence keeps the optional review crops of no-match occupants
// (lane.Config.Evidence, off by default): each crop is one file sealed with
// AES-256-GCM under the at-rest key, named by its expiry, and deleted once
// its TTL (at most 12 h, on the injected clock) has passed. A crop past its
// expiry is never opened, even before the sweep removes it.
package evidence
