package uplink

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// BenchmarkDrain drains b.N pre-enqueued summaries to a local mosquitto,
// with a window of 64 (the default) and of 1 (strict order on the wire)
// as the peer. Reported: msgs/s, from Run's start to the last PUBACK
// acknowledged to the outbox.
func BenchmarkDrain(b *testing.B) {
	broker := mosquittotest.Start(b, mosquittotest.Options{})
	for _, window := range []int{64, 1} {
		b.Run(fmt.Sprintf("in_flight=%d", window), func(b *testing.B) {
			ob := openOutbox(b, "")
			ctx := context.Background()
			payload := transaction(b, "L1", 1)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 64)
			for range b.N {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if _, err := ob.Enqueue(ctx, outbox.KindSummary, payload); err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
			cfg := testConfig(broker.URL())
			cfg.InFlight = window
			p, err := New(Options{Config: cfg, Outbox: ob, Logger: quietLog()})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			go p.Run(ctx)
			for p.Status().Acked < uint64(b.N) {
				time.Sleep(time.Millisecond) // polling a real broker
			}
			el := time.Since(start)
			b.StopTimer()
			p.Close()
			if c := ob.Stats().Count; c != 0 {
				b.Fatalf("%d left", c)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
		})
	}
}

// timedOutbox records when each PUBACK reached the outbox.
type timedOutbox struct {
	*outbox.Outbox
	mu    sync.Mutex
	acked map[uint64]time.Time
	n     chan int
}

func (o *timedOutbox) Ack(seqs ...uint64) error {
	now := time.Now()
	o.mu.Lock()
	for _, s := range seqs {
		o.acked[s] = now
	}
	o.mu.Unlock()
	o.n <- len(seqs)
	return o.Outbox.Ack(seqs...)
}

// BenchmarkEnqueueToPUBACK: a running publisher and lane producers
// enqueueing at a steady 500 summaries/s (far above a lane's real rate,
// below saturation); reports the latency from calling Enqueue to the
// PUBACK reaching the outbox (p50, p99), enqueue durability (fsync)
// included.
func BenchmarkEnqueueToPUBACK(b *testing.B) {
	broker := mosquittotest.Start(b, mosquittotest.Options{})
	ob := &timedOutbox{Outbox: openOutbox(b, ""), acked: map[uint64]time.Time{}, n: make(chan int, 1<<16)}
	p, err := New(Options{Config: testConfig(broker.URL()), Outbox: ob, Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	for p.Status().State != StateConnected {
		time.Sleep(time.Millisecond)
	}
	payload := transaction(b, "L1", 1)
	var mu sync.Mutex
	started := make(map[uint64]time.Time, b.N)
	b.ResetTimer()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	for range b.N {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			m, err := ob.Enqueue(ctx, outbox.KindSummary, payload)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			started[m.Seq] = t0
			mu.Unlock()
		}()
	}
	wg.Wait()
	for got := 0; got < b.N; {
		got += <-ob.n
	}
	b.StopTimer()
	p.Close()
	lat := make([]time.Duration, 0, b.N)
	ob.mu.Lock()
	for seq, t0 := range started {
		lat = append(lat, ob.acked[seq].Sub(t0))
	}
	ob.mu.Unlock()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
