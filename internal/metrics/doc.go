// Package metrics serves laned's Prometheus metrics on a local address,
// from a private registry (no Go runtime or process defaults leak in
// unasked; they are registered explicitly).
//
// Collectors read snapshots at scrape time, node_exporter-style: each
// Source (lane, cameras, outbox, uplink, gallery) is a function returning
// its component's current snapshot, and every scrape reports, per
// collector, how long it took and whether it succeeded
// (laned_scrape_collector_duration_seconds, laned_scrape_collector_success).
// Per-stage durations are histograms observed once per summary
// (ObserveSummary), from the latencies the summary itself carries.
package metrics
