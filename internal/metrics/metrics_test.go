package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink"
)

// TestScrape: snapshots are read at scrape time, a failing collector is
// reported as such without failing the scrape, stage histograms count
// summaries; Run returns nil on cancel and Close is idempotent.
func TestScrape(t *testing.T) {
	n := uint64(0)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s, err := New(Options{Address: "127.0.0.1:0", Sources: Sources{
		Lane: func() lane.Stats {
			n++
			return lane.Stats{State: lane.StateCapturing, Summaries: n, Decisions: map[string]int{"match": 3},
				Cameras: []lane.CameraStats{{Name: "front", Skipped: 7}}}
		},
		Cameras: func() []camera.Health {
			return []camera.Health{{Camera: "front", Frames: 10, Corrupt: 1, State: camera.StateStreaming}}
		},
		Outbox:  func() outbox.Stats { return outbox.Stats{Count: 4, OldestAge: 90 * time.Second} },
		Uplink:  func() uplink.Status { panic("uplink snapshot broken") },
		Gallery: func() GalleryInfo { return GalleryInfo{Version: "12", Subjects: 5, Created: now.Add(-time.Hour)} },
		Now:     func() time.Time { return now },
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.ObserveSummary(&summary.Transaction{Latency: summary.Latency{Capture: 2000, Detect: 40, Total: 2100}})
	scrape := func() string {
		resp, err := http.Get("http://" + s.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first, second := scrape(), scrape()
	for _, want := range []string{"laned_summaries_total 1", `laned_occupants_total{decision="match"} 3`, `laned_lane_frames_skipped_total{camera="front"} 7`,
		`laned_camera_corrupt_total{camera="front"} 1`, "laned_outbox_messages 4", "laned_outbox_oldest_age_seconds 90", `laned_gallery_info{version="12"} 1`,
		"laned_gallery_age_seconds 3600", `laned_scrape_collector_success{collector="uplink"} 0`, `laned_scrape_collector_success{collector="lane"} 1`,
		`laned_stage_duration_seconds_count{stage="total"} 1`, "laned_vehicle_present 1", "go_goroutines"} {
		if !strings.Contains(first, want) {
			t.Errorf("first scrape lacks %q", want)
		}
	}
	if !strings.Contains(second, "laned_summaries_total 2") {
		t.Error("the second scrape did not read a new snapshot")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run on cancel: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Address: s.Addr() + "x"}); err == nil || !strings.Contains(err.Error(), "metrics.address") {
		t.Errorf("bad address: %v", err)
	}
}
