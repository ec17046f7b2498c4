package outbox

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"
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

// BenchmarkEnqueue is the lane's write path under load: N producers,
// group commit (one fsync per batch). producers=64 uses b.RunParallel.
func BenchmarkEnqueue(b *testing.B) {
	for _, n := range []int{4, 16} {
		b.Run(fmt.Sprintf("producers=%d", n), func(b *testing.B) {
			ob := benchOutbox(b)
			ctx := context.Background()
			b.SetBytes(int64(len(summaryPayload)))
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range n {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			reportEnqueue(b, ob, time.Since(start))
		})
	}
	b.Run("producers=64", func(b *testing.B) {
		ob := benchOutbox(b)
		ctx := context.Background()
		b.SetParallelism(64 / runtime.GOMAXPROCS(0))
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
		reportEnqueue(b, ob, time.Since(start))
	})
}

func reportEnqueue(b *testing.B, ob *Outbox, el time.Duration) {
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

// BenchmarkBoltBatchPeer is the peer for BenchmarkEnqueue/producers=64:
// the same producers and payload through bbolt's own DB.Batch (default 10 ms
// MaxBatchDelay, 1000 MaxBatchSize), with a seq counter in the same
// transaction but none of the outbox's bookkeeping.
func BenchmarkBoltBatchPeer(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "peer.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("q")); return err })
	b.SetParallelism(64 / runtime.GOMAXPROCS(0))
	b.SetBytes(int64(len(summaryPayload)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Batch(func(tx *bbolt.Tx) error {
				q := tx.Bucket([]byte("q"))
				seq, err := q.NextSequence() // re-run safe: the retry gets a new tx
				if err != nil {
					return err
				}
				return q.Put(key(seq), summaryPayload)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkPendingAfter is the publisher's read path: windows of 100
// summaries from a cursor over a 10,000-record backlog.
func BenchmarkPendingAfter(b *testing.B) {
	ob := benchOutbox(b)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 10000 / 32 {
				if _, err := ob.Enqueue(ctx, KindSummary, summaryPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	last := ob.Stats().LastSeq
	b.ResetTimer()
	var cursor uint64
	n := 0
	for range b.N {
		msgs, err := ob.PendingAfter(cursor, 100)
		if err != nil {
			b.Fatal(err)
		}
		n += len(msgs)
		cursor = msgs[len(msgs)-1].Seq
		if cursor >= last {
			cursor = 0
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}
