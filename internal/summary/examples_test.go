package summary

import "time"

func f64(v float64) *float64 { return &v }

var t0 = time.Date(2026, 11, 25, 22, 14, 3, 120_000_000, time.UTC)

const testID = "019abc12-3456-7def-8abc-0123456789ab"

// examples are realistic payloads of every kind laned emits, stamped as
// published, including edge cases. The key names the golden file.
func examples() map[string]any {
	h := func(k Kind, seq uint64) Header {
		return Header{SchemaVersion: SchemaVersion, Kind: k, MessageID: testID, Sequence: seq}
	}
	since := t0.Add(-time.Hour)
	return map[string]any{
		"transaction_mixed": &Transaction{
			Header: h(KindTransaction, 41), TransactionID: "L2-20261125-000812", Site: "north-crossing", Lane: "L2",
			DetectedAt: t0, CompletedAt: t0.Add(1830 * time.Millisecond),
			GalleryVersion: "2026-11-25T02:00Z+sig.3f9a", ModelID: "face-api-1.7.15-resnet128@sha256:9c1e",
			Occupants: []Occupant{
				{Index: 0, Camera: "cam-driver", Decision: Match, SubjectID: "S-000481", Score: f64(0.8731), Quality: f64(0.91)},
				{Index: 1, Camera: "cam-passenger", Decision: NoMatch, Score: f64(0.41), Quality: f64(0.77)},
				{Index: 2, Camera: "cam-rear", Decision: NoUsableImage, Reason: ReasonOccluded, Quality: f64(0.12)},
			},
			Latency: Latency{Capture: 612.5, Detect: 38.2, Embed: 21.9, Match: 0.8, Total: 1830},
		},
		"transaction_v2_candidates": &Transaction{
			Header:        Header{SchemaVersion: TransactionSchemaVersion, Kind: KindTransaction, MessageID: testID, Sequence: 45},
			TransactionID: "L2-20261125T221403.120-0007", Site: "north-crossing", Lane: "L2",
			DetectedAt: t0, CompletedAt: t0.Add(2140 * time.Millisecond),
			GalleryVersion: "2026-11-25T02:00Z+sig.3f9a", ModelID: "face-api-1.7.15-resnet128@sha256:9c1e",
			Trigger: TriggerVideo, End: EndDeparture,
			Faults: []Fault{{Source: "arrival", Code: "loop.stuck_on"}, {Source: "cam-rear", Code: "camera.lost"}},
			Occupants: []Occupant{
				{Index: 0, Camera: "cam-driver", Decision: Match, SubjectID: "S-000481", Score: f64(0.8731), Quality: f64(0.91),
					Candidates: []Scored{{"S-000481", 0.8731}, {"S-000112", 0.3104}}, Attempts: &Attempts{Faces: 14, Usable: 9, Embedded: 3}},
				{Index: 1, Camera: "cam-passenger", Decision: Candidate, Score: f64(0.52), Quality: f64(0.64),
					Candidates: []Scored{{"S-000907", 0.52}, {"S-000044", 0.49}, {"S-000481", 0.21}}, Attempts: &Attempts{Faces: 11, Usable: 4, Embedded: 3}},
				{Index: 2, Camera: "cam-passenger", Decision: NoMatch, Score: f64(0.18), Quality: f64(0.8),
					Attempts: &Attempts{Faces: 9, Usable: 6, Embedded: 2}},
				{Index: 3, Camera: "cam-rear", Decision: NoUsableImage, Reason: ReasonCameraFault, Quality: f64(0.05),
					Attempts: &Attempts{Faces: 2, Usable: 0, Embedded: 0}},
			},
			Latency: Latency{Capture: 1705.5, Detect: 402.2, Embed: 61.9, Match: 1.1, Total: 2140},
		},
		"transaction_empty_vehicle": &Transaction{ // no face position found at all
			Header: h(KindTransaction, 1), TransactionID: "L2-20261125-000813", Site: "north-crossing", Lane: "L2",
			DetectedAt: t0, CompletedAt: t0.Add(4 * time.Second), GalleryVersion: "g1", ModelID: "m1",
			Occupants: []Occupant{}, Latency: Latency{Total: 4000},
		},
		"transaction_all_unusable": &Transaction{
			Header: h(KindTransaction, 18446744073709551615), TransactionID: "t", Site: "s", Lane: "l",
			DetectedAt: t0, CompletedAt: t0, GalleryVersion: "g", ModelID: "m",
			Occupants: func() (o []Occupant) {
				rs := []Reason{ReasonNoFace, ReasonTooSmall, ReasonBlurred, ReasonOccluded, ReasonBadPose, ReasonTooDark,
					ReasonOverexposed, ReasonCameraFault, ReasonTimeout}
				for i, r := range rs {
					o = append(o, Occupant{Index: i, Decision: NoUsableImage, Reason: r})
				}
				return o
			}(),
			Latency: Latency{Total: 0},
		},
		"transaction_max_occupants": &Transaction{
			Header: h(KindTransaction, 7), TransactionID: "bus-0001", Site: "s", Lane: "bus.1",
			DetectedAt: t0, CompletedAt: t0.Add(time.Minute), GalleryVersion: "g", ModelID: "m",
			Occupants: func() (o []Occupant) {
				for i := range 16 {
					o = append(o, Occupant{Index: i, Decision: Match, SubjectID: "S-1", Score: f64(1), Quality: f64(0)})
				}
				return o
			}(),
			Latency: Latency{Total: 3600000},
		},
		"status_online": &Status{SchemaVersion: SchemaVersion, Kind: KindStatus, Site: "north-crossing", Lane: "L2",
			State: "online", Version: "v0.4.1", Since: &since},
		"status_offline_will": &Status{SchemaVersion: SchemaVersion, Kind: KindStatus, Site: "north-crossing", Lane: "L2",
			State: "offline", Version: "dev-5c61a6e0a1b2", Since: &since, Reason: "connection lost (last will)"},
		"health_full": &Health{
			Header: h(KindHealth, 42), Site: "north-crossing", Lane: "L2", At: t0, Version: "v0.4.1", UptimeS: 86400.5,
			Cameras:      []CameraHealth{{ID: "cam-driver", FPS: 29.97, Drops: 3}, {ID: "cam-rear", FPS: 0, Drops: 1200, Error: "VIDIOC_DQBUF: no such device"}},
			Sensors:      []SensorHealth{{ID: "loop-entry", State: "clear"}, {ID: "curtain", State: "fault"}},
			Outbox:       OutboxHealth{Depth: 1843, Bytes: 1_200_000, OldestAgeS: 5400, Quarantined: 1, Dropped: 10, Unstored: 2},
			Gallery:      &GalleryHealth{Version: "2026-11-25T02:00Z+sig.3f9a", AgeS: 72000},
			TemperatureC: f64(-12.5), Disk: &DiskHealth{FreeBytes: 1 << 30, TotalBytes: 32 << 30},
		},
		"health_minimal": &Health{Header: h(KindHealth, 2), Site: "s", Lane: "l", At: t0, Version: "dev", UptimeS: 0,
			Outbox: OutboxHealth{}},
		"event_fault": &Event{Header: h(KindEvent, 43), Site: "north-crossing", Lane: "L2", At: t0, Category: "fault",
			Severity: "error", Code: "camera.lost", Message: "camera cam-rear stopped delivering frames",
			Details: map[string]string{"camera": "cam-rear", "errno": "ENODEV"}},
		"event_audit": &Event{Header: h(KindEvent, 44), Site: "north-crossing", Lane: "L2", At: t0, Category: "audit",
			Severity: "info", Code: "console.login", Message: "technician logged in on the serial console", Actor: "tech-0042"},
	}
}
