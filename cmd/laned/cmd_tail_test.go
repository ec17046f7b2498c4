package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/uplink/mosquittotest"
)

func golden(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "summary", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFormatPayload(t *testing.T) {
	for name, want := range map[string]string{
		"transaction_mixed":   "2026-11-25T22:14:04Z north-crossing/L2 #41 vehicle L2-20261125-000812: 3 occupant(s) [0 match S-000481 score 0.873 q 0.91] [1 no_match q 0.77] [2 no_usable_image: occluded q 0.12] gallery 2026-11-25T02:00Z+sig.3f9a model face-api-1.7.15-resnet128@sha256:9c1e 1830 ms",
		"event_audit":         "2026-11-25T22:14:03Z north-crossing/L2 #44 audit INFO console.login: technician logged in on the serial console (by tech-0042)",
		"status_offline_will": "north-crossing/L2 OFFLINE version dev-5c61a6e0a1b2 (connection lost (last will))",
	} {
		got, _, err := formatPayload(golden(t, name))
		if err != nil || got != want {
			t.Errorf("%s:\n got %q %v\nwant %q", name, got, err, want)
		}
	}
	if _, _, err := formatPayload([]byte(`{"kind":"transaction","image":"..."}`)); err == nil {
		t.Error("accepted an invalid payload")
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestTailCommand(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	for _, mode := range []string{"pretty", "json"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out, errb syncBuf
			args := []string{"tail", "--broker", b.URL(), "--prefix", "border", "--site", "north-crossing"}
			if mode == "json" {
				args = append(args, "--json")
			}
			done := make(chan int)
			go func() { done <- run(ctx, args, &out, &errb) }()
			pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("test-pub-" + mode))
			if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			defer pub.Disconnect(0)
			tr := golden(t, "transaction_mixed")
			// The fixtures share one message_id; give the event its own.
			ev := []byte(strings.Replace(string(golden(t, "event_fault")), "0123456789ab", "0123456789ac", 1))
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), "camera.lost") || !strings.Contains(out.String(), "000812") {
				if time.Now().After(deadline) {
					t.Fatalf("no output; stdout %q stderr %q", out.String(), errb.String())
				}
				// Published repeatedly until the tail has subscribed; the
				// repeats are duplicates (same message_id).
				pub.Publish("border/north-crossing/L2/transactions", 1, false, tr).Wait()
				pub.Publish("border/other-site/L2/transactions", 1, false, tr).Wait() // not followed
				pub.Publish("border/north-crossing/L2/events", 1, false, ev).Wait()
				time.Sleep(50 * time.Millisecond) // a real subscriber catching up
			}
			pub.Publish("border/north-crossing/L2/transactions", 1, false, []byte(`{"kind":"transaction","template":"AAAA"}`)).Wait()
			time.Sleep(200 * time.Millisecond)
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if mode == "pretty" {
				if n := strings.Count(out.String(), "vehicle L2-20261125-000812"); n != 1 {
					t.Errorf("transaction printed %d times, want once (duplicates dropped):\n%s", n, out.String())
				}
				if !strings.Contains(errb.String(), "unknown field \"template\"") {
					t.Errorf("invalid payload not reported: %s", errb.String())
				}
			} else {
				for _, l := range lines {
					if !strings.HasPrefix(l, "{") {
						t.Errorf("--json line %q", l)
					}
				}
				if !strings.Contains(out.String(), `"template":"AAAA"`) {
					t.Error("--json does not print raw payloads")
				}
			}
		})
	}
}

func TestTailUsage(t *testing.T) {
	var out, errb syncBuf
	if code := run(context.Background(), []string{"tail"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--broker is required") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"tail", "--broker", "tcp://x:1", "--lane", "a#"}, &out, &errb); code != 2 {
		t.Errorf("wildcard lane: exit %d", code)
	}
}
