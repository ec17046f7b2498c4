// Package demo holds the parts of `laned demo` that are not commands: a
// local mosquitto for the demo, the generated passes (occupants cut from the
// face-api sample photos moving through a vehicle-like frame, with glare,
// blur and low-light variants, and the loops' transitions), a subscriber
// that collects each published summary with its arrival time, and the
// closing table of vehicles, occupants, decisions and latencies.
package demo
