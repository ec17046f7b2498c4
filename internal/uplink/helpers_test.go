package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

func quietLog() *slog.Logger {
	if os.Getenv("LANED_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openOutbox(t testing.TB, path string) *outbox.Outbox {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "outbox.db")
	}
	ob, err := outbox.Open(path, outbox.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func testConfig(brokers ...string) Config {
	return Config{Brokers: brokers, Prefix: "test", Site: "site1", Lane: "L1",
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		KeepAlive: 5 * time.Second, ConnectTimeout: 2 * time.Second}.WithDefaults()
}

// transaction returns a valid, unstamped transaction payload.
func transaction(t testing.TB, lane string, n int) []byte {
	t0 := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
	q, s := 0.8, 0.9
	b, err := summary.Marshal(&summary.Transaction{
		Header:        summary.Header{SchemaVersion: summary.SchemaVersion, Kind: summary.KindTransaction},
		TransactionID: fmt.Sprintf("%s-%08d", lane, n), Site: "site1", Lane: lane,
		DetectedAt: t0, CompletedAt: t0.Add(time.Second), GalleryVersion: "g1", ModelID: "m1",
		Occupants: []summary.Occupant{{Index: 0, Decision: summary.Match, SubjectID: "S-1", Score: &s, Quality: &q}},
		Latency:   summary.Latency{Total: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// received is one message a subscriber got.
type received struct {
	Topic    string
	Retained bool
	Payload  []byte
}

// subscriber is a central-office consumer: fixed client id, persistent
// session (clean=false), QoS 1, resubscribing on every connect.
type subscriber struct {
	cl   mqtt.Client
	mu   sync.Mutex
	ms   []received
	ch   chan struct{}
	subd chan struct{} // a value after each SUBACK
}

func subscribe(t testing.TB, url, id, filter string) *subscriber {
	t.Helper()
	s := &subscriber{ch: make(chan struct{}, 1), subd: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true).SetKeepAlive(5 * time.Second)
	o.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
			s.mu.Lock()
			s.ms = append(s.ms, received{m.Topic(), m.Retained(), append([]byte(nil), m.Payload()...)})
			s.mu.Unlock()
			select {
			case s.ch <- struct{}{}:
			default:
			}
		})
		go func() { // not in the handler: paho's order-matters mode
			if tok.Wait() && tok.Error() == nil {
				select {
				case s.subd <- struct{}{}:
				default:
				}
			}
		}()
	})
	s.cl = mqtt.NewClient(o)
	if tok := s.cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.cl.Disconnect(100) })
	return s
}

// waitSubscribed waits for the broker to acknowledge the subscription.
func (s *subscriber) waitSubscribed(t testing.TB) {
	t.Helper()
	select {
	case <-s.subd:
	case <-time.After(10 * time.Second):
		t.Fatal("subscription not acknowledged in 10 s")
	}
}

func (s *subscriber) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.ms...)
}

// waitFor waits (wall time: a real broker) until cond holds for the messages.
func (s *subscriber) waitFor(t testing.TB, d time.Duration, what string, cond func([]received) bool) []received {
	t.Helper()
	deadline := time.After(d)
	for {
		ms := s.messages()
		if cond(ms) {
			return ms
		}
		select {
		case <-s.ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s (%d messages)", d, what, len(ms))
		}
	}
}

func countTopic(ms []received, topic string) int {
	n := 0
	for _, m := range ms {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// waitStatus polls Status until cond holds.
func waitStatus(t testing.TB, p *Publisher, d time.Duration, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := p.Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; status: %s", what, st)
		}
		time.Sleep(10 * time.Millisecond) // polling a real broker connection
	}
}

func runPublisher(t testing.TB, o Options) *Publisher {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLog()
	}
	if o.Version == "" {
		o.Version = "v-test"
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Run(context.Background()) }()
	t.Cleanup(func() {
		p.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

func statusOf(t testing.TB, b []byte) summary.Status {
	var s summary.Status
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

var _ = mosquittotest.Available
