// Package health is the lane's health tracker. Components report into it
// (the gallery, cameras, sensors, through the small Reporter,
// CameraReporter and SensorReporter interfaces); the outbox, the uplink,
// the disk and the board temperature are read when a snapshot is taken, as
// node_exporter's collectors read at scrape time. A Snapshot feeds the
// metrics, the console and the local API; Health builds the `health`
// payload of package summary, and Run commits one to the outbox every
// Interval. The uplink only carries it: it is transport.
//
// A component's level is ok, degraded (working with a handicap: no
// gallery, broker unreachable, disk filling) or fault (not working); the
// lane's level is the worst of them.
package health
