package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"

	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// TestCollectCommand runs `laned collect` on a real mosquitto and an
// SQLite file, publishes summaries with one sequence missing, then checks
// `collect gaps`, `collect query` and `collect quarantine`.
func TestCollectCommand(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dir := t.TempDir()
	db := filepath.Join(dir, "office.db")
	lanes := filepath.Join(dir, "lanes.txt")
	os.WriteFile(lanes, []byte("# the fleet\nnorth-crossing/L2\nnorth-crossing/L3\n"), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	maddr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuf
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"collect", "--broker", b.URL(), "--db", db, "--prefix", "border", "--lanes", lanes, "--metrics", maddr, "--client-id", "office-cli"}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), "subscribed") {
		if time.Now().After(deadline) {
			t.Fatalf("collect did not subscribe: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond) // a real broker
	}
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("cli-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	base := golden(t, "transaction_mixed")
	var v map[string]any
	json.Unmarshal(base, &v)
	delete(v, "message_id")
	delete(v, "sequence")
	v["completed_at"] = time.Now().UTC().Format(time.RFC3339)
	unstamped, _ := json.Marshal(v)
	for _, seq := range []uint64{1, 2, 4} {
		p, err := summary.Stamp(unstamped, uuid.Must(uuid.NewV7()).String(), seq)
		if err != nil {
			t.Fatal(err)
		}
		pub.Publish("border/north-crossing/L2/transactions", 1, false, p).Wait()
	}
	pub.Publish("border/north-crossing/L2/transactions", 1, false, []byte("not json")).Wait()
	deadline = time.Now().Add(10 * time.Second)
	var metrics string
	for !strings.Contains(metrics, `laned_collect_stored_total{kind="transaction"} 3`) || !strings.Contains(metrics, `laned_collect_refused_total{code="malformed"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("metrics never showed 3 stored and 1 refused:\n%s\n%s", metrics, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
		if resp, err := http.Get("http://" + maddr + "/metrics"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(body)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("collect exited %d: %s", code, errb.String())
	}

	var o, e syncBuf
	code := run(context.Background(), []string{"collect", "gaps", "--db", db, "--grace", "0s"}, &o, &e)
	if code != 1 || !strings.Contains(o.String(), "north-crossing/L2  3–3") || !strings.Contains(o.String(), "north-crossing/L3") ||
		!strings.Contains(e.String(), "1 sequence gap(s) open longer") {
		t.Errorf("gaps: exit %d\n%s\n%s", code, o.String(), e.String())
	}
	t.Logf("collect gaps:\n%s", o.String())
	o, e = syncBuf{}, syncBuf{}
	if code := run(context.Background(), []string{"collect", "gaps", "--db", db, "--json"}, &o, &e); code != 0 {
		t.Errorf("gaps --json (within grace): exit %d %s", code, e.String())
	}
	var rep struct{ Gaps []struct{ From, To uint64 } }
	if err := json.Unmarshal([]byte(o.String()), &rep); err != nil || len(rep.Gaps) != 1 || rep.Gaps[0].From != 3 {
		t.Errorf("gaps --json: %v %s", err, o.String())
	}
	o, e = syncBuf{}, syncBuf{}
	if code := run(context.Background(), []string{"collect", "query", "--db", db, "--lane", "L2", "--subject", "S-000481", "--from", "1h"}, &o, &e); code != 0 ||
		!strings.Contains(o.String(), "3 summaries") || !strings.Contains(o.String(), "north-crossing/L2 #4 vehicle") {
		t.Errorf("query: exit %d\n%s%s", code, o.String(), e.String())
	}
	o, e = syncBuf{}, syncBuf{}
	if code := run(context.Background(), []string{"collect", "query", "--db", db, "--decision", "no_match", "--json", "--limit", "1"}, &o, &e); code != 0 ||
		strings.Count(o.String(), "\n") != 1 || !strings.Contains(o.String(), `"sequence":4`) {
		t.Errorf("query --json: exit %d\n%s%s", code, o.String(), e.String())
	}
	o, e = syncBuf{}, syncBuf{}
	if code := run(context.Background(), []string{"collect", "quarantine", "--db", db}, &o, &e); code != 0 || !strings.Contains(o.String(), "malformed") {
		t.Errorf("quarantine: exit %d\n%s%s", code, o.String(), e.String())
	}
	for _, bad := range [][]string{
		{"collect", "--db", db},
		{"collect", "--broker", "http://x:1", "--db", db},
		{"collect", "query", "--db", db, "--decision", "maybe"},
		{"collect", "query", "--db", db, "--from", "yesterday"},
		{"collect", "gaps", "--db", filepath.Join(dir, "none.db")},
		{"collect", "gaps", "--db", "mysql://x"},
	} {
		o, e = syncBuf{}, syncBuf{}
		if code := run(context.Background(), bad, &o, &e); code == 0 {
			t.Errorf("%v: exit 0", bad)
		}
	}
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"24h", "2026-12-01T08:00:00Z", "-1h", "yesterday", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		w, err := parseWhen(s, now)
		if d, derr := time.ParseDuration(s); derr == nil && d >= 0 && (err != nil || !w.Equal(now.Add(-d))) {
			t.Fatalf("%q: %v %v, want %s ago", s, w, err, d)
		}
	})
}
