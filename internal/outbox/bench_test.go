package outbox

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// summaryPayload is a typical ~1 KiB vehicle summary.
var summaryPayload = func() []byte {
	b := []byte(`{"schema":"laned.summary/1","site":"exit-03","lane":"L2","txn":"0193f1c2-7e6a-7c1b-9f4e-2b1d5a6c7e8f",` +
		`"started":"2026-11-25T22:51:16.123Z","ended":"2026-11-25T22:51:19.877Z","gallery":"g-20261125-01","model":"face-api-1.7.15",` +
		`"occupants":[`)
	for i := range 4 {
		b = fmt.Appendf(b, `{"seat":%d,"decision":"match","subject":"S-%08d","score":0.8123,"quality":{"eye_px":41.2,"sharpness":311.5,"yaw":7.5},"latency_ms":{"detect":21,"align":2,"embed":38,"match":1}},`, i, i*7919)
	}
	b = append(b[:len(b)-1], `],"sensors":{"loop_in":"2026-11-25T22:51:16.101Z","loop_out":"2026-11-25T22:51:19.902Z"},"frames":{"seen":112,"usable":37},"pad":"`...)
	for len(b) < 1022 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}()

func benchOutbox(b *testing.B) *Outbox {
	f := newFixture(b, func(o *Options) {
		o.Limits.MaxBytes = 4 << 30
		o.Limits.SummaryMaxAge = -1
	})
	return f.ob
}

// BenchmarkEnqueue is the lane's write path under load: many producers,
// group commit (one fsync per batch).
func BenchmarkEnqueue(b *testing.B) {
	ob := benchOutbox(b)
	ctx := context.Background()
	b.SetParallelism(32) // 32 × GOMAXPROCS producers
	b.SetBytes(int64(len(summaryPayload)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	el := time.Since(start)
	s := ob.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
	b.ReportMetric(float64(s.Records)/float64(max(s.Batches, 1)), "records/batch")
}

// BenchmarkEnqueueSerial is one producer: every record waits for its own
// fsync, which is what group commit saves.
func BenchmarkEnqueueSerial(b *testing.B) {
	ob := benchOutbox(b)
	ctx := context.Background()
	b.SetBytes(int64(len(summaryPayload)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkAck acknowledges records the way a publisher does: concurrent
// PUBACK handlers, each acking one seq, sharing transactions.
func BenchmarkAck(b *testing.B) {
	ob := benchOutbox(b)
	ctx := context.Background()
	var seqs []uint64
	const chunk = 512
	for len(seqs) < b.N {
		// Fill fast: concurrent enqueues share fsyncs.
		n := min(chunk, b.N-len(seqs))
		got := make(chan uint64, n)
		for range n {
			go func() {
				m, err := ob.Enqueue(ctx, KindSummary, summaryPayload)
				if err != nil {
					b.Error(err)
				}
				got <- m.Seq
			}()
		}
		for range n {
			seqs = append(seqs, <-got)
		}
	}
	next := make(chan uint64, len(seqs))
	for _, s := range seqs {
		next <- s
	}
	close(next)
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := ob.Ack(<-next); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "acks/s")
	if s := ob.Stats(); s.Count != 0 {
		b.Fatalf("%d left after acking all", s.Count)
	}
}
