package collect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/laned/laned/internal/health"
	"io"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
	"github.com/laned/laned/internal/collect"
	"github.com/laned/laned/internal/collect/pgtest"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/uplink"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// lane runs the real lane side: an outbox and the uplink publisher.
type lane struct {
	ob  *outbox.Outbox
	pub *uplink.Publisher
	ids map[string]uint64
}

func startLane(t testing.TB, broker, prefix, site, name string, healthEvery time.Duration) *lane {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), name+".db"), outbox.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := uplink.Config{Brokers: []string{broker}, Prefix: prefix, Site: site, Lane: name,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, KeepAlive: 2 * time.Second, ConnectTimeout: 2 * time.Second}.WithDefaults()
	p, err := uplink.New(uplink.Options{Config: cfg, Outbox: ob, Logger: quietLog(), Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	// Health reports come from the lane's health tracker, as in the daemon.
	tr, err := health.New(health.Options{Site: site, Lane: name, Version: "v-test", Outbox: ob, Uplink: p,
		Interval: healthEvery, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- p.Run(context.Background()) }()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { errc <- tr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-errc
		tr.Close()
		p.Close()
		<-errc
		ob.Close()
	})
	return &lane{ob: ob, pub: p, ids: map[string]uint64{}}
}

func (l *lane) commit(t testing.TB, site, name string, n int) {
	t.Helper()
	for i := range n {
		m, err := l.ob.Enqueue(context.Background(), outbox.KindSummary, txPayload(t, site, name, i, time.Now().UTC()))
		if err != nil {
			t.Fatal(err)
		}
		l.ids[m.ID] = m.Seq
	}
}

// TestEndToEnd: two real lanes (outbox + uplink) publish through a real
// mosquitto to a collector on each engine; everything is stored once, in
// the ledger without gaps, with lane status and health.
func TestEndToEnd(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	pg := pgtest.Start(t)
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) {
			db := openSQLite(t)
			if eng == "postgres" {
				db = openPostgres(t, pg)
			}
			prefix := "e2e" + eng
			c := runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: prefix, ClientID: "office-" + eng}, db, nil)
			l1 := startLane(t, b.URL(), prefix, "north", "L1", time.Second)
			l2 := startLane(t, b.URL(), prefix, "north", "L2", -1)
			l1.commit(t, "north", "L1", 150)
			l2.commit(t, "north", "L2", 150)
			ctx := context.Background()
			waitUntil(t, 30*time.Second, "300 transactions stored", func() bool {
				k, _, _ := db.Counts(ctx)
				return k["transaction"] == 300
			})
			waitUntil(t, 10*time.Second, "a health report of L1", func() bool {
				k, _, _ := db.Counts(ctx)
				return k["health"] >= 1
			})
			ids, err := db.IDs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []*lane{l1, l2} {
				for id, seq := range l.ids {
					if r, ok := ids[id]; !ok || r.Seq != seq {
						t.Fatalf("message %s (seq %d) not stored as committed: %+v", id, seq, r)
					}
				}
			}
			rep, err := db.Report(ctx, time.Now(), time.Minute, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Gaps) != 0 {
				t.Fatalf("gaps: %+v", rep.Gaps)
			}
			s1 := laneOf(rep, "north", "L1")
			if s1.Status != "online" || s1.StatusVersion != "v-test" || s1.LastHealth.IsZero() || s1.Silent {
				t.Fatalf("lane L1: %+v", s1)
			}
			if s2 := laneOf(rep, "north", "L2"); s2.Silent {
				t.Fatalf("lane L2 sends no health but transactions: not silent yet: %+v", s2)
			}
			later, _ := db.Report(ctx, time.Now().Add(2*time.Minute), time.Minute, time.Minute)
			if s2 := laneOf(later, "north", "L2"); !s2.Silent {
				t.Fatalf("lane L2 quiet for 2 minutes should be silent: %+v", s2)
			}
			rows, err := db.Query(ctx, store.Filter{Site: "north", Lane: "L2", SubjectID: "S-3", Decision: "match", Limit: 1000})
			if err != nil || len(rows) != 30 {
				t.Fatalf("query L2 subject S-3: %d rows, %v", len(rows), err)
			}
			st := c.Stats()
			t.Logf("stats %+v", st)
			// Metrics on the private registry.
			srv := httptest.NewServer(c.Handler())
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`laned_collect_stored_total{kind="transaction"} 300`, "laned_collect_open_gaps 0", "laned_collect_report_success 1", "laned_collect_ingest_lag_seconds_count"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("metrics lack %q", want)
				}
			}
			// The lane shuts down: its status goes offline.
			l1.pub.Close()
			waitUntil(t, 10*time.Second, "L1 offline", func() bool {
				r, _ := db.Report(ctx, time.Now(), time.Minute, time.Minute)
				return laneOf(r, "north", "L1").Offline
			})
		})
	}
}

// TestBadInput: every kind of bad payload is refused into quarantine with
// its code, counted, and the collector keeps storing good ones.
func TestBadInput(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	db := openSQLite(t)
	c := runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: "bad", ClientID: "office-bad",
		Lanes: []collect.LaneID{{"north", "L1"}}}, db, nil)
	pub := publisher(t, b.URL())
	now := time.Now().UTC()
	good, goodID := stamped(t, "north", "L1", 1, now)
	extra := strings.Replace(string(good), `"site"`, `"template":"AAAA","site"`, 1)
	badVersion := regexp.MustCompile(`"schema_version":[0-9]+`).ReplaceAllString(string(good), `"schema_version":99`)
	if badVersion == string(good) {
		t.Fatal("no schema_version in the good payload")
	}
	old, _ := stamped(t, "north", "L1", 2, now.Add(-40*24*time.Hour))
	other, _ := stamped(t, "north", "L9", 1, now)
	huge := append([]byte(`{"kind":"transaction","pad":"`), append([]byte(strings.Repeat("x", 40<<10)), `"}`...)...)
	for _, p := range []struct{ topic, payload string }{
		{"bad/north/L1/transactions", `{"kind":"transaction", oops`},
		{"bad/north/L1/transactions", "\xff\xfe not utf-8"},
		{"bad/north/L1/transactions", extra},
		{"bad/north/L1/transactions", badVersion},
		{"bad/north/L1/transactions", string(huge)},
		{"bad/north/L9/transactions", string(other)},
		{"bad/north/L2/transactions", string(good)}, // topic names another lane
		{"bad/north/L1/events", string(good)},       // a transaction on the events topic
		{"bad/north/L1/transactions", string(old)},  // replayed from 40 days ago
		{"bad/north/L1/transactions", string(good)},
		{"bad/north/L1/transactions", string(good)}, // replayed: a duplicate
	} {
		publish(t, pub, p.topic, []byte(p.payload))
	}
	ctx := context.Background()
	waitUntil(t, 10*time.Second, "11 payloads handled", func() bool { st := c.Stats(); return st.Stored+st.Duplicates+st.Refused >= 11 })
	kinds, refused, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"malformed": 2, "schema": 2, "oversize": 1, "unknown_lane": 1, "topic_mismatch": 2, "stale": 1}
	for code, n := range want {
		if refused[code] != n {
			t.Errorf("quarantine %s: %d, want %d (all: %v)", code, refused[code], n, refused)
		}
	}
	if kinds["transaction"] != 1 {
		t.Errorf("stored %v, want the one good transaction", kinds)
	}
	st := c.Stats()
	if st.Duplicates != 1 || st.Refused != 9 || st.Stored != 1 {
		t.Errorf("stats %+v", st)
	}
	ids, _ := db.IDs(ctx)
	if _, ok := ids[goodID]; !ok {
		t.Errorf("good message not stored")
	}
	q, _ := db.Quarantined(ctx, 20)
	for _, r := range q {
		if r.Reason == "" || r.Size == 0 {
			t.Errorf("quarantine row without reason or size: %+v", r)
		}
		if r.Code == "oversize" && len(r.Payload) != r.Size {
			t.Errorf("oversize payload clipped to %d of %d", len(r.Payload), r.Size)
		}
	}
	// Still running: a later good message is stored.
	next, _ := stamped(t, "north", "L1", 3, now)
	publish(t, pub, "bad/north/L1/transactions", next)
	waitUntil(t, 10*time.Second, "the next good message", func() bool { return c.Stats().Stored == 2 })
}

// TestDroppedMessageIsAGap: a lane's message that never arrives shows as
// an open gap, reported once past the grace period; when it comes late the
// gap closes and counts as out of order.
func TestDroppedMessageIsAGap(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	db := openSQLite(t)
	clk := clock.NewFake(time.Now().UTC())
	c := runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: "gap", ClientID: "office-gap", Grace: 5 * time.Minute}, db, clk)
	pub := publisher(t, b.URL())
	var dropped []byte
	for seq := uint64(1); seq <= 6; seq++ {
		p, _ := stamped(t, "north", "L1", seq, clk.Now())
		if seq == 4 {
			dropped = p
			continue
		}
		publish(t, pub, "gap/north/L1/transactions", p)
	}
	waitUntil(t, 10*time.Second, "5 stored", func() bool { return c.Stats().Stored == 5 })
	ctx := context.Background()
	r, err := c.CheckNow(ctx, nil)
	if err != nil || len(r.Gaps) != 1 || r.Gaps[0].From != 4 || r.Gaps[0].To != 4 || r.Overdue != 0 {
		t.Fatalf("within grace: %+v %v", r.Gaps, err)
	}
	clk.Advance(6 * time.Minute)
	r, _ = c.CheckNow(ctx, nil)
	if r.Overdue != 1 || !r.Gaps[0].Overdue {
		t.Fatalf("past grace: %+v", r.Gaps)
	}
	publish(t, pub, "gap/north/L1/transactions", dropped)
	waitUntil(t, 10*time.Second, "the late one stored", func() bool { return c.Stats().Stored == 6 })
	r, _ = c.CheckNow(ctx, nil)
	if len(r.Gaps) != 0 || laneOf(r, "north", "L1").OutOfOrder != 1 {
		t.Fatalf("after the late message: %+v %+v", r.Gaps, r.Lanes)
	}
}

// TestRetention runs the policy on the injected clock: 31 days later the
// summaries are gone, the deletion logged in retention_log.
func TestRetention(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	db := openSQLite(t)
	clk := clock.NewFake(time.Now().UTC())
	c := runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: "ret", ClientID: "office-ret"}, db, clk)
	pub := publisher(t, b.URL())
	for seq := uint64(1); seq <= 3; seq++ {
		p, _ := stamped(t, "north", "L1", seq, clk.Now())
		publish(t, pub, "ret/north/L1/transactions", p)
	}
	waitUntil(t, 10*time.Second, "3 stored", func() bool { return c.Stats().Stored == 3 })
	ctx := context.Background()
	// The collector's own retention loop runs too (its ticker fires on
	// Advance), so count deletions in the log, not in one call's result.
	clk.Advance(29 * 24 * time.Hour)
	if _, err := c.RetainNow(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _, _ := db.Counts(ctx); k["transaction"] != 3 {
		t.Fatalf("day 29: %v left, want 3", k)
	}
	clk.Advance(2 * 24 * time.Hour)
	if _, err := c.RetainNow(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _, _ := db.Counts(ctx); k["transaction"] != 0 {
		t.Fatalf("day 31: %v left, want none", k)
	}
	log, _ := db.RetentionLog(ctx, 100)
	var deleted int64
	for _, e := range log {
		if e.Kind == "transaction" {
			deleted += e.Deleted
		}
	}
	if deleted != 3 {
		t.Fatalf("retention log: %d transactions deleted, want 3: %+v", deleted, log)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  collect.Config
		want string
	}{
		{collect.Config{}, "collect.brokers"},
		{collect.Config{Brokers: []string{"http://x:1"}}, "scheme"},
		{collect.Config{Brokers: []string{"tcp://x"}}, "host:port"},
		{collect.Config{Brokers: []string{"tcp://x:1"}, Group: "a/b"}, "collect.group"},
		{collect.Config{Brokers: []string{"tcp://x:1"}, Prefix: "a/+"}, "collect.prefix"},
		{collect.Config{Brokers: []string{"tcp://x:1"}, CA: "ca.pem"}, "collect.tls"},
		{collect.Config{Brokers: []string{"tcp://x:1"}, Cert: "c.pem"}, "collect.cert"},
		{collect.Config{Brokers: []string{"tcp://x:1"}}, ""},
	} {
		err := tc.cfg.WithDefaults().Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := collect.New(collect.Options{Config: collect.Config{Brokers: []string{"tcp://x:1"}}}); err == nil {
		t.Error("New without a store succeeded")
	}
	f := collect.Config{Prefix: "p", Group: "office"}.Filters()
	if f[0] != "$share/office/p/+/+/transactions" || len(f) != 4 {
		t.Errorf("filters %v", f)
	}
}

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		topic, want string
	}{
		{"laned/north/L1/transactions", "north L1 transactions"},
		{"laned/north/L1/status", "north L1 status"},
		{"laned/north/L1/images", "error"},
		{"laned/north/L1", "error"},
		{"laned/north/L1/health/x", "error"},
		{"other/north/L1/health", "error"},
		{"laned/+/L1/health", "error"},
		{"laned//L1/health", "error"},
	} {
		got := "error"
		if tp, err := collect.ParseTopic("laned", tc.topic); err == nil {
			got = tp.Site + " " + tp.Lane + " " + tp.Leaf
		}
		if got != tc.want {
			t.Errorf("%q: %s, want %s", tc.topic, got, tc.want)
		}
	}
}

func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{"laned/north/L1/transactions", "laned/a/b/status", "laned//x/y", "laned/a/b/c/d", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := collect.ParseTopic("laned", s)
		if err != nil {
			return
		}
		if got := fmt.Sprintf("laned/%s/%s/%s", tp.Site, tp.Lane, tp.Leaf); got != s {
			t.Fatalf("%q parsed as %+v", s, tp)
		}
		if strings.ContainsAny(tp.Site+tp.Lane, "/+#") {
			t.Fatalf("%q: wildcard in names %+v", s, tp)
		}
	})
}

func FuzzParseLanes(f *testing.F) {
	f.Add("north/L1\nnorth/L2 # comment\n\n")
	f.Add("bad")
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := collect.ParseLanes(s)
		if err != nil {
			return
		}
		for _, l := range ls {
			if _, err := collect.ParseTopic("p", "p/"+l.Site+"/"+l.Lane+"/status"); err != nil {
				t.Fatalf("lane %v from %q is not a valid topic part: %v", l, s, err)
			}
		}
	})
}

var _ = json.Marshal

// TestSharedSubscription: three collectors share $share/office/… over one
// PostgreSQL database; one is stopped and started again midway. Every
// summary of three real lanes is stored once, and each collector took a
// share.
func TestSharedSubscription(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	pg := pgtest.Start(t)
	dsn := pg.CreateDB(t, "shared")
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	cfg := func(i int) collect.Config {
		return collect.Config{Brokers: []string{b.URL()}, Prefix: "shared", ClientID: fmt.Sprintf("office-%d", i), Group: "office"}
	}
	var cs []*collect.Collector
	for i := range 3 {
		cs = append(cs, runCollector(t, cfg(i), open(), nil))
	}
	var lanes []*lane
	for i := range 3 {
		lanes = append(lanes, startLane(t, b.URL(), "shared", "north", fmt.Sprintf("L%d", i+1), -1))
	}
	for i, l := range lanes {
		l.commit(t, "north", fmt.Sprintf("L%d", i+1), 200)
	}
	cs[1].Close()
	stored := cs[1].Stats().Stored
	cs[1] = runCollector(t, cfg(1), open(), nil)
	for i, l := range lanes {
		l.commit(t, "north", fmt.Sprintf("L%d", i+1), 200)
	}
	check := open()
	waitUntil(t, 30*time.Second, "1200 summaries stored", func() bool {
		k, _, _ := check.Counts(ctx)
		return k["transaction"] == 1200
	})
	ids, _ := check.IDs(ctx)
	for _, l := range lanes {
		for id, seq := range l.ids {
			if r, ok := ids[id]; !ok || r.Seq != seq {
				t.Fatalf("%s (seq %d) not stored as committed", id, seq)
			}
		}
	}
	rep, _ := check.Report(ctx, time.Now(), 0, time.Hour)
	if len(rep.Gaps) != 0 {
		t.Fatalf("gaps: %+v", rep.Gaps)
	}
	var shares []int64
	for i, c := range cs {
		n := c.Stats().Stored
		if i == 1 {
			n += stored
		}
		shares = append(shares, n)
		if n == 0 {
			t.Errorf("collector %d stored nothing: the subscription is not shared", i)
		}
	}
	t.Logf("stored per collector: %v", shares)
}

// TestTLS: the collector on mosquitto's TLS listener with a client
// certificate, and a clear refusal of a CA that did not sign the broker.
func TestTLS(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: true})
	c := b.Certs
	db := openSQLite(t)
	col := runCollector(t, collect.Config{Brokers: []string{b.TLSURL(b.TLSPort)}, Prefix: "tls", ClientID: "office-tls",
		CA: c.CA, Cert: c.Client, Key: c.ClientKey}, db, nil)
	l := startLane(t, b.URL(), "tls", "north", "L1", -1)
	l.commit(t, "north", "L1", 20)
	waitUntil(t, 10*time.Second, "20 over TLS", func() bool { return col.Stats().Stored == 20 })
	if _, err := collect.New(collect.Options{Config: collect.Config{Brokers: []string{b.TLSURL(b.TLSPort)}, CA: filepath.Join(t.TempDir(), "none.pem")}, Store: db}); err == nil ||
		!strings.Contains(err.Error(), "collect.tls") {
		t.Errorf("missing CA file: %v", err)
	}
}

// poisonStore refuses any batch holding one message, as a database
// refuses a value it cannot take, while answering pings.
type poisonStore struct {
	*store.DB
	poison string
}

func (p poisonStore) Commit(ctx context.Context, b store.Batch) (store.Result, error) {
	for _, m := range b.Messages {
		if m.ID == p.poison {
			return store.Result{}, fmt.Errorf("invalid byte sequence for encoding (simulated)")
		}
	}
	return p.DB.Commit(ctx, b)
}

// TestPoisonMessage: a message the database keeps refusing does not block
// the others: it ends in quarantine (store_error) with the reason.
func TestPoisonMessage(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	db := openSQLite(t)
	pub := publisher(t, b.URL())
	now := time.Now().UTC()
	var ps [][]byte
	var poison string
	for seq := uint64(1); seq <= 5; seq++ {
		p, id := stamped(t, "north", "L1", seq, now)
		if seq == 3 {
			poison = id
		}
		ps = append(ps, p)
	}
	c := runCollector(t, collect.Config{Brokers: []string{b.URL()}, Prefix: "poison", ClientID: "office-poison"}, poisonStore{db, poison}, nil)
	for _, p := range ps {
		publish(t, pub, "poison/north/L1/transactions", p)
	}
	waitUntil(t, 30*time.Second, "4 stored, 1 quarantined", func() bool { st := c.Stats(); return st.Stored == 4 && st.Refused == 1 })
	_, refused, _ := db.Counts(context.Background())
	if refused["store_error"] != 1 {
		t.Fatalf("quarantine %v", refused)
	}
}

// TestFailover: the first broker of the list is down; the collector uses
// the second, and comes back to storing after that one restarts.
func TestFailover(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true})
	dead := fmt.Sprintf("tcp://127.0.0.1:%d", mosquittotest.FreePort(t))
	db := openSQLite(t)
	c := runCollector(t, collect.Config{Brokers: []string{dead, b.URL()}, Prefix: "fo", ClientID: "office-fo"}, db, nil)
	l := startLane(t, b.URL(), "fo", "north", "L1", -1)
	l.commit(t, "north", "L1", 10)
	waitUntil(t, 10*time.Second, "10 stored via the second broker", func() bool { return c.Stats().Stored == 10 })
	b.Stop()
	b.Restart()
	l.commit(t, "north", "L1", 10)
	waitUntil(t, 20*time.Second, "20 stored after the restart", func() bool { return c.Stats().Stored == 20 })
}
