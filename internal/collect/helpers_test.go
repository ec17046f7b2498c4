package collect_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/collect"
	"github.com/laned/laned/internal/collect/pgtest"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/summary"
)

func quietLog() *slog.Logger {
	if os.Getenv("LANED_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openSQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "collect.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var dbSeq atomic.Int64

func openPostgres(t testing.TB, pg *pgtest.Server) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), pg.CreateDB(t, fmt.Sprintf("collect%d", dbSeq.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// runCollector starts a collector; t.Cleanup closes it and checks Run.
func runCollector(t testing.TB, cfg collect.Config, st collect.Store, clk clock.Clock) *collect.Collector {
	t.Helper()
	c, err := collect.New(collect.Options{Config: cfg, Store: st, Clock: clk, Logger: quietLog(),
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		c.Close() // idempotent
	})
	waitUntil(t, 10*time.Second, "collector connected", c.Connected)
	return c
}

// waitUntil polls cond (a real broker and database are involved).
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling real processes
	}
}

// publisher is a raw MQTT client for hand-made payloads.
func publisher(t testing.TB, url string) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", dbSeq.Add(1))).SetCleanSession(true).SetProtocolVersion(4)
	cl := mqtt.NewClient(o)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

func publish(t testing.TB, cl mqtt.Client, topic string, payload []byte) {
	t.Helper()
	tok := cl.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// txPayload is an unstamped transaction of lane at time at.
func txPayload(t testing.TB, site, lane string, n int, at time.Time) []byte {
	t.Helper()
	q, s := 0.8, 0.9
	b, err := summary.Marshal(&summary.Transaction{
		Header:        summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindTransaction},
		TransactionID: fmt.Sprintf("%s-%08d", lane, n), Site: site, Lane: lane,
		DetectedAt: at.Add(-time.Second), CompletedAt: at, GalleryVersion: "g1", ModelID: "m1",
		Occupants: []summary.Occupant{{Index: 0, Decision: summary.Match, SubjectID: fmt.Sprintf("S-%d", n%5), Score: &s, Quality: &q},
			{Index: 1, Decision: summary.NoUsableImage, Reason: summary.ReasonBlurred}},
		Latency: summary.Latency{Total: 900},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stamped is txPayload stamped with a fresh id and seq, as the uplink sends it.
func stamped(t testing.TB, site, lane string, seq uint64, at time.Time) ([]byte, string) {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	b, err := summary.Stamp(txPayload(t, site, lane, int(seq), at), id, seq)
	if err != nil {
		t.Fatal(err)
	}
	return b, id
}

func laneOf(r store.Report, site, lane string) store.LaneStats {
	for _, l := range r.Lanes {
		if l.Site == site && l.Lane == lane {
			return l
		}
	}
	return store.LaneStats{}
}

func newID(t testing.TB) string { return uuid.Must(uuid.NewV7()).String() }
