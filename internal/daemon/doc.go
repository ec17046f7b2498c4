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
package daemon
