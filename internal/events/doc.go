// Package events is the lane's event emitter: faults and audit records,
// each a summary.Event committed to the outbox (KindEvent), so the central
// office gets them in order and nothing is lost while the uplink is down.
//
// Faults are keyed by code and source (e.g. "camera.lost" of
// "camera/front"). A fault raised again while it is active is one fault,
// not a new event; a fault that flaps (raised and resolved again within
// FlapWindow) is reported once, and the next event of that fault carries how
// many raises and resolutions were folded into it. A token bucket bounds the
// rate of fault events (Burst, then one per Refill); what it holds back is
// counted and carried by the next emitted event. Audit events (a
// technician's gallery import, a console login) are never suppressed.
package events
