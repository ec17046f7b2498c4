package uplink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

func TestPublishesOutboxInOrderAndAcks(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	sub := subscribe(t, b.URL(), "office-1", "test/#")
	ob := openOutbox(t, "")
	ctx := context.Background()
	const n = 500
	for i := range n {
		if _, err := ob.Enqueue(ctx, outbox.KindSummary, transaction(t, "L1", i)); err != nil {
			t.Fatal(err)
		}
	}
	ev, _ := summary.Marshal(&summary.Event{Header: summary.Header{SchemaVersion: 1, Kind: summary.KindEvent},
		Site: "site1", Lane: "L1", At: time.Now().UTC(), Category: "fault", Severity: "error", Code: "camera.lost", Message: "cam gone"})
	ob.Enqueue(ctx, outbox.KindEvent, ev)

	p := runPublisher(t, Options{Config: testConfig(b.URL()), Outbox: ob})
	ms := sub.waitFor(t, 20*time.Second, "all transactions", func(ms []received) bool {
		return countTopic(ms, "test/site1/L1/transactions") >= n && countTopic(ms, "test/site1/L1/events") >= 1
	})
	var last uint64
	for _, m := range ms {
		if err := summary.ValidateJSON(m.Payload); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		v, err := summary.Unmarshal(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if tr, ok := v.(*summary.Transaction); ok {
			if tr.Sequence <= last {
				t.Fatalf("sequence %d after %d", tr.Sequence, last)
			}
			last = tr.Sequence
		}
	}
	if st := statusOf(t, ms[0].Payload); ms[0].Topic != "test/site1/L1/status" || st.State != "online" || st.Version != "v-test" {
		t.Errorf("first message %s %s, want retained online status", ms[0].Topic, ms[0].Payload)
	}
	waitStatus(t, p, 10*time.Second, "outbox drained", func(s Status) bool { return s.Acked == n+1 })
	if c := ob.Stats().Count; c != 0 {
		t.Errorf("%d messages left in the outbox after their PUBACK", c)
	}
	if st := p.Status(); st.State != StateConnected || !strings.HasPrefix(st.String(), "connected to tcp://127.0.0.1") {
		t.Errorf("status %q", st)
	}
}

func TestStartsWithoutBrokerAndKeepsQueuing(t *testing.T) {
	// The office's subscription exists (persistent session, kept by the
	// broker across its restart) before the lane can publish, so nothing
	// the lane sends right after the restart can beat the subscriber.
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	url := b.URL()
	sub := subscribe(t, url, "office-2", "test/+/+/transactions")
	sub.waitSubscribed(t)
	b.Stop()
	ob := openOutbox(t, "")
	p := runPublisher(t, Options{Config: testConfig(url), Outbox: ob})
	st := waitStatus(t, p, 5*time.Second, "unreachable", func(s Status) bool { return s.Reason != "" })
	if st.State != StateConnecting || st.Reason != ReasonUnreachable || !strings.Contains(st.String(), "connecting: unreachable broker") {
		t.Errorf("status %+v / %q, want connecting: unreachable broker", st, st)
	}
	for i := range 50 {
		if _, err := ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", i)); err != nil {
			t.Fatal(err)
		}
	}
	b.Restart()
	waitStatus(t, p, 10*time.Second, "drained after the broker came up", func(s Status) bool { return s.Acked == 50 })
	sub.waitFor(t, 10*time.Second, "50 transactions", func(ms []received) bool { return len(ms) >= 50 })
}

func TestFailoverToSecondBroker(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	dead := "tcp://" + strings.TrimPrefix(mosquittotest.NewProxy(t, "127.0.0.1:1").URL(), "tcp://")
	ob := openOutbox(t, "")
	ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", 1))
	p := runPublisher(t, Options{Config: testConfig(dead, b.URL()), Outbox: ob})
	st := waitStatus(t, p, 10*time.Second, "connected to the second broker", func(s Status) bool { return s.Acked == 1 })
	if st.Broker != b.URL() {
		t.Errorf("connected to %s, want %s", st.Broker, b.URL())
	}
}

func TestLastWillAndStatus(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	proxy := mosquittotest.NewProxy(t, b.Addr())
	ob := openOutbox(t, "")
	p := runPublisher(t, Options{Config: testConfig(proxy.URL()), Outbox: ob})
	waitStatus(t, p, 5*time.Second, "connected", func(s Status) bool { return s.State == StateConnected })
	sub := subscribe(t, b.URL(), "office-3", "test/site1/L1/status")
	sub.waitFor(t, 5*time.Second, "retained online", func(ms []received) bool {
		return len(ms) > 0 && ms[0].Retained && statusOf(t, ms[0].Payload).State == "online"
	})
	proxy.Cut() // the broker sees the link die and sends the will
	ms := sub.waitFor(t, 20*time.Second, "offline will", func(ms []received) bool {
		return statusOf(t, ms[len(ms)-1].Payload).State == "offline"
	})
	will := ms[len(ms)-1].Payload
	if err := summary.ValidateJSON(will); err != nil {
		t.Error(err)
	}
	if !strings.Contains(string(will), "last will") {
		t.Errorf("will %s", will)
	}
	st := waitStatus(t, p, 5*time.Second, "not connected", func(s Status) bool { return s.State == StateConnecting && s.Reason != "" })
	t.Logf("status while cut: %s", st)
	proxy.Restore()
	waitStatus(t, p, 10*time.Second, "reconnected", func(s Status) bool { return s.State == StateConnected && s.Connects == 2 })
	sub.waitFor(t, 5*time.Second, "online again", func(ms []received) bool {
		return statusOf(t, ms[len(ms)-1].Payload).State == "online"
	})
}

func TestOversizePayloadIsQuarantined(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	ob := openOutbox(t, "")
	cfg := testConfig(b.URL())
	cfg.MaxPayload = 2048
	big := transaction(t, "L1", 1)
	big = []byte(strings.Replace(string(big), `"model_id":"m1"`, `"model_id":"m1","pad":"`+strings.Repeat("x", 4000)+`"`, 1))
	ob.Enqueue(context.Background(), outbox.KindSummary, big)
	ob.Enqueue(context.Background(), outbox.KindSummary, []byte("not json"))
	ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", 2))
	p := runPublisher(t, Options{Config: cfg, Outbox: ob})
	st := waitStatus(t, p, 10*time.Second, "one sent, two quarantined", func(s Status) bool { return s.Acked == 1 && s.Quarantined == 2 })
	q, err := ob.Quarantined()
	if err != nil || len(q) != 2 {
		t.Fatalf("quarantine %d %v", len(q), err)
	}
	if !strings.Contains(q[0].Reason, "payload over uplink.max_payload") || !strings.Contains(q[0].Reason, "max 2048") {
		t.Errorf("reason %q does not say why", q[0].Reason)
	}
	if !strings.Contains(q[1].Reason, "not a JSON object") {
		t.Errorf("reason %q", q[1].Reason)
	}
	if !strings.Contains(st.LastError, "uplink refused") {
		t.Errorf("status last error %q", st.LastError)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	p, err := New(Options{Config: testConfig("tcp://127.0.0.1:1"), Outbox: openOutbox(t, ""), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
	if err := p.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
	p2, _ := New(Options{Config: testConfig("tcp://127.0.0.1:1"), Outbox: openOutbox(t, ""), Logger: quietLog()})
	done := make(chan error)
	go func() { done <- p2.Run(context.Background()) }()
	waitStatus(t, p2, 5*time.Second, "connecting", func(s Status) bool { return s.State == StateConnecting })
	p2.Close()
	p2.Close()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if st := p2.Status(); st.State != StateStopped {
		t.Errorf("after Close: %s", st)
	}
}

// TestMessageTheBrokerKeepsRefusingIsQuarantined: a broker that drops the
// connection on one message (MQTT 3.1.1's only way to refuse it) must not
// block the lane forever: the message ends in the outbox quarantine with
// the reason and the messages behind it flow. (mosquitto itself PUBACKs
// and silently drops a QoS 1 message over its message_size_limit from a
// 3.1.1 client, so this uses a fake client.)
func TestMessageTheBrokerKeepsRefusingIsQuarantined(t *testing.T) {
	ob := openOutbox(t, "")
	poison := []byte(strings.Replace(string(transaction(t, "L1", 1)), `"model_id":"m1"`, `"model_id":"poison"`, 1))
	ob.Enqueue(context.Background(), outbox.KindSummary, poison)
	for i := 2; i <= 5; i++ {
		ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", i))
	}
	cfg := testConfig("tcp://fake:1883")
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, time.Millisecond
	p := runPublisher(t, Options{Config: cfg, Outbox: ob, NewClient: newPoisonClient})
	st := waitStatus(t, p, 20*time.Second, "the rest delivered and the refused one quarantined", func(s Status) bool { return s.Acked >= 4 && s.Refused >= 5 })
	q, _ := ob.Quarantined()
	if len(q) != 1 || q[0].Seq != 1 || !strings.Contains(q[0].Reason, "dropped the connection") {
		t.Fatalf("quarantine %+v, want seq 1 with the reason", q)
	}
	if st.Refused != 5 { // outbox MaxAttempts
		t.Errorf("refused %d, want 5", st.Refused)
	}
	if c := ob.Stats().Count; c != 0 {
		t.Errorf("%d left in the outbox", c)
	}
}
