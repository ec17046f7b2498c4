// Package daemon builds laned's graph of components in one place and runs
// it: outbox → uplink, events and health into the outbox, the gallery
// store under gallery/active, and the local API over them. New takes the
// configuration and the dependencies that differ between the booth and a
// test (the recogniser's identity, the clock, the MQTT client factory, and
// later the cameras, sensors and the lane engine as Extra components), so
// an end-to-end test builds the same graph from fakes.
//
// Run runs every component's Run under one errgroup. When its context ends
// (SIGINT/SIGTERM from the signal context) or a component fails, the
// components stop in the reverse order of construction: producers first
// (extras such as the lane, the local API, the gallery, health, events),
// then the uplink (which sends what is in flight and the offline status),
// then the outbox; Close then closes the stores.
//
// Around them (wire.go) sit the parts that serve technicians and systemd:
// the console routes of the local API answered from the components
// (ops.go), the console server (socket and serial, over the local API
// client like laned ctl), the daemon's supervisor loop, and the watchdog,
// which says READY once the local API answers, pings while every heartbeat
// beats and, being the last part, says STOPPING first. Extra builders reach
// them through Graph: Watchdog.Heartbeat, Routes.SetLane, Checks.Add.
package daemon
