// Package clock abstracts time so that debounce, retry, back-off and TTL
// logic can be tested without sleeping. Production code takes a Clock and
// gets Real; tests pass a *Fake and move it forward with Advance.
package clock
