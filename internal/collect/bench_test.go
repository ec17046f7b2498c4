package collect_test

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/collect"
	"github.com/laned/laned/internal/collect/pgtest"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// BenchmarkIngest measures summaries/s from a real mosquitto into each
// engine, with one collector alone and three sharing a subscription
// ($share/bench/…), in the same run. The broker holds b.N stamped
// summaries of ten lanes, queued for the collectors' persistent sessions,
// before the clock starts; it stops when the last one is committed.
//
//	go test -run '^$' -bench Ingest -benchtime 20000x ./internal/collect
func BenchmarkIngest(b *testing.B) {
	br := mosquittotest.Start(b, mosquittotest.Options{})
	pg := pgtest.Start(b)
	for _, eng := range []string{"postgres", "sqlite"} {
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/collectors=%d", eng, n), func(b *testing.B) {
				benchIngest(b, br, pg, eng, n)
			})
		}
	}
}

var benchRun int

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchIngest(b *testing.B, br *mosquittotest.Broker, pg *pgtest.Server, eng string, collectors int) {
	benchRun++
	prefix := fmt.Sprintf("bench%d", benchRun)
	ctx := context.Background()
	var dsn string
	if eng == "postgres" {
		dsn = pg.CreateDB(b, fmt.Sprintf("bench%d", benchRun))
	} else {
		dsn = filepath.Join(b.TempDir(), "bench.db")
	}
	open := func() *store.DB {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	cfg := func(i int) collect.Config {
		c := collect.Config{Brokers: []string{br.URL()}, Prefix: prefix, ClientID: fmt.Sprintf("%s-c%d", prefix, i)}
		if collectors > 1 {
			c.Group = "bench"
		}
		return c
	}
	// Create the sessions, then leave: the broker queues for them.
	for i := range collectors {
		runCollector(b, cfg(i), open(), nil).Close()
	}
	payloads := make([][]byte, b.N)
	now := time.Now().UTC()
	for i := range payloads {
		lane := fmt.Sprintf("L%02d", i%10+1)
		payloads[i], _ = stamped(b, "north", lane, uint64(i/10+1), now)
	}
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(br.URL()).SetClientID(prefix + "-pub").SetMaxResumePubInFlight(1000))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	toks := make([]mqtt.Token, 0, 1000)
	for i, p := range payloads {
		toks = append(toks, pub.Publish(fmt.Sprintf("%s/north/L%02d/transactions", prefix, i%10+1), 1, false, p))
		if len(toks) == cap(toks) || i == len(payloads)-1 {
			for _, t := range toks {
				t.Wait()
				if t.Error() != nil {
					b.Fatal(t.Error())
				}
			}
			toks = toks[:0]
		}
	}
	pub.Disconnect(100)
	check := open()
	before, _ := check.SizeBytes(ctx)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	var cs []*collect.Collector
	for i := range collectors {
		cs = append(cs, runCollector(b, cfg(i), open(), nil))
	}
	for {
		k, _, err := check.Counts(ctx)
		if err == nil && k["transaction"] >= int64(b.N) {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("stored %d of %d in 5 minutes", k["transaction"], b.N)
		}
		time.Sleep(5 * time.Millisecond) // polling the real database
	}
	el := time.Since(start)
	b.StopTimer()
	// The collectors' own CPU time (this process; PostgreSQL and mosquitto
	// are other processes): steadier than the rate on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "collector-cpu-µs/summary")
	var batches int64
	for _, c := range cs {
		batches += c.Stats().Batches
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "summaries/s")
	b.ReportMetric(float64(b.N)/float64(max(1, batches)), "msgs/batch")
	if before > 0 {
		if after, err := check.SizeBytes(ctx); err == nil {
			b.ReportMetric(float64(after-before)/float64(b.N), "dbbytes/summary")
		}
	}
	rep, _ := check.Report(ctx, time.Now(), time.Hour, time.Hour)
	if len(rep.Gaps) != 0 {
		b.Errorf("gaps after the run: %d", len(rep.Gaps))
	}
}
