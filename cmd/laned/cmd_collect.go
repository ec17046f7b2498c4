package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/laned/laned/internal/collect"
	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/summary"
)

func init() {
	register(&command{
		Name:  "collect",
		Short: "store every lane's summaries exactly once, detect losses (central office)",
		Usage: "--broker URL [--broker URL]... --db DSN [--group G --client-id ID] [--metrics ADDR] [--lanes FILE] [TLS and retention flags]",
		Setup: setupCollect,
	})
	register(&command{
		Name:  "collect gaps",
		Short: "list lost messages (sequence gaps), offline and silent lanes, duplicate counts",
		Usage: "--db DSN [--grace DUR] [--silent DUR] [--all] [--json]",
		Setup: setupCollectGaps,
	})
	register(&command{
		Name:  "collect query",
		Short: "list stored transaction summaries by site, lane, time, decision or subject",
		Usage: "--db DSN [--site S] [--lane L] [--from T] [--to T] [--decision D] [--subject ID] [--limit N] [--json]",
		Setup: setupCollectQuery,
	})
	register(&command{
		Name:  "collect quarantine",
		Short: "list refused payloads with the reason",
		Usage: "--db DSN [--limit N] [--json]",
		Setup: setupCollectQuarantine,
	})
}

// urlList is a repeatable flag; each value may also be comma-separated.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }
func (l *urlList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

type collectFlags struct {
	brokers                       urlList
	db, metrics, lanes            string
	cfg                           collect.Config
	retainSum, retainHealth, retQ time.Duration
}

func setupCollect(fs *flag.FlagSet) runFunc {
	var f collectFlags
	fs.Var(&f.brokers, "broker", "broker URL, e.g. ssl://broker.example:8883 (repeat or comma-separate for failover, tried in order)")
	fs.StringVar(&f.db, "db", "", "database: a file path or sqlite:PATH (SQLite), or postgres://user@host/db (PostgreSQL)")
	fs.StringVar(&f.cfg.Prefix, "prefix", "laned", "topic prefix of the lanes")
	fs.StringVar(&f.cfg.ClientID, "client-id", "laned-collect", "MQTT client id: fixed, so the broker keeps the session; unique per collector")
	fs.StringVar(&f.cfg.Group, "group", "", "shared-subscription group ($share/GROUP/…) for several collectors sharing the load")
	fs.StringVar(&f.cfg.CA, "ca", "", "CA certificate (PEM) to trust for ssl:// brokers")
	fs.StringVar(&f.cfg.Cert, "cert", "", "client certificate (PEM)")
	fs.StringVar(&f.cfg.Key, "key", "", "client key (PEM)")
	fs.StringVar(&f.cfg.ServerName, "server-name", "", "host name to check in the broker's certificate")
	fs.StringVar(&f.cfg.Username, "username", "", "MQTT user name")
	fs.StringVar(&f.cfg.Password, "password", "", "MQTT password (or LANED_MQTT_PASSWORD)")
	fs.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9310) at /metrics")
	fs.StringVar(&f.lanes, "lanes", "", "file of the fleet's lanes (site/lane per line): payloads of other lanes are quarantined; silent ones listed")
	fs.DurationVar(&f.cfg.Grace, "grace", 10*time.Minute, "report a sequence gap still open after this long")
	fs.DurationVar(&f.cfg.Silent, "silent", 5*time.Minute, "list a lane with no health report for this long")
	fs.DurationVar(&f.retainSum, "retain-summaries", store.DefaultRetention.Transactions, "keep transactions and events this long (0: forever)")
	fs.DurationVar(&f.retainHealth, "retain-health", store.DefaultRetention.Health, "keep health reports this long (0: forever)")
	fs.DurationVar(&f.retQ, "retain-quarantine", store.DefaultRetention.Quarantine, "keep refused payloads this long (0: forever)")
	fs.IntVar(&f.cfg.BatchMax, "batch-max", 1000, "most messages committed in one transaction")
	return func(ctx context.Context, e *env, args []string) error { return runCollect(ctx, e, f, args) }
}

func runCollect(ctx context.Context, e *env, f collectFlags, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q", args)
	}
	if len(f.brokers) == 0 || f.db == "" {
		return usageErrorf("--broker and --db are required")
	}
	cfg := f.cfg
	cfg.Brokers = f.brokers
	if cfg.Password == "" {
		cfg.Password = os.Getenv("LANED_MQTT_PASSWORD")
	}
	cfg.Retention = store.Retention{Transactions: f.retainSum, Events: f.retainSum, Health: f.retainHealth, Quarantine: f.retQ}
	if cfg.Retention == (store.Retention{}) {
		cfg.Retention = store.Retention{Quarantine: -1} // all zero means "forever", not "defaults"
	}
	if f.lanes != "" {
		b, err := os.ReadFile(f.lanes)
		if err != nil {
			return fmt.Errorf("--lanes: %w", err)
		}
		if cfg.Lanes, err = collect.ParseLanes(string(b)); err != nil {
			return fmt.Errorf("--lanes %s: %w", f.lanes, err)
		}
		if len(cfg.Lanes) == 0 {
			return fmt.Errorf("--lanes %s: no lanes listed", f.lanes)
		}
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	db, err := store.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := collect.New(collect.Options{Config: cfg, Store: db, Logger: e.Log})
	if err != nil {
		return err
	}
	defer c.Close()
	if f.metrics != "" {
		l, err := net.Listen("tcp", f.metrics)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", c.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(l)
		defer srv.Close()
		e.Log.Info("collect: metrics", "url", "http://"+l.Addr().String()+"/metrics")
	}
	if d, err := store.ParseDSN(f.db); err == nil {
		e.Log.Info("collect: store", "db", d.String(), "engine", db.Engine())
	}
	return c.Run(ctx) // nil on SIGINT/SIGTERM; then the deferred closes run in order
}

type reportFlags struct {
	db            string
	grace, silent time.Duration
	all, json     bool
}

func setupCollectGaps(fs *flag.FlagSet) runFunc {
	var f reportFlags
	fs.StringVar(&f.db, "db", "", "database (as for laned collect)")
	fs.DurationVar(&f.grace, "grace", 10*time.Minute, "a gap older than this is overdue (reported, exit status 1)")
	fs.DurationVar(&f.silent, "silent", 5*time.Minute, "a lane with no health report for this long is silent")
	fs.BoolVar(&f.all, "all", false, "also list gaps still within the grace period, and every lane")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments %q", args)
		}
		db, err := openForCLI(ctx, f.db)
		if err != nil {
			return err
		}
		defer db.Close()
		r, err := db.Report(ctx, time.Now().UTC(), f.grace, f.silent)
		if err != nil {
			return err
		}
		if f.json {
			if err := writeJSON(e.Stdout, r); err != nil {
				return err
			}
		} else {
			printReport(e.Stdout, r, f.all)
		}
		if r.Overdue > 0 {
			return fmt.Errorf("%d sequence gap(s) open longer than %s: messages lost between lanes and the office", r.Overdue, f.grace)
		}
		return nil
	}
}

func printReport(w io.Writer, r store.Report, all bool) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	shown := 0
	fmt.Fprintln(tw, "SITE/LANE\tSEQUENCES\tMISSING\tOPEN FOR\tSTATE")
	for _, g := range r.Gaps {
		if !g.Overdue && !all {
			continue
		}
		state := "within grace"
		if g.Overdue {
			state = "LOST?"
		}
		shown++
		fmt.Fprintf(tw, "%s/%s\t%d–%d\t%d\t%s\t%s\n", g.Site, g.Lane, g.From, g.To, g.Size(), g.Age.Round(time.Second), state)
	}
	tw.Flush()
	if shown == 0 {
		fmt.Fprintf(w, "no sequence gap open longer than %s (%d open in all)\n", r.Grace, len(r.Gaps))
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LANE\tSTATUS\tLAST HEALTH\tSTORED\tDUPLICATES\tOUT OF ORDER\tREFUSED\tOPEN GAPS\tOUTBOX DROPPED\tNOTE")
	for _, l := range r.Lanes {
		var note []string
		if l.Offline {
			note = append(note, "OFFLINE since "+l.StatusSince.Format(time.RFC3339))
		}
		if l.Silent {
			note = append(note, "SILENT")
		}
		if l.LastSeen.IsZero() {
			note = append(note, "never seen")
		}
		if !all && len(note) == 0 && l.OpenGaps == 0 && l.OutboxDropped == 0 {
			continue
		}
		lh := "never"
		if !l.LastHealth.IsZero() {
			lh = r.At.Sub(l.LastHealth).Round(time.Second).String() + " ago"
		}
		st := l.Status
		if st == "" {
			st = "-"
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", l.Site, l.Lane, st, lh, l.Stored, l.Duplicates, l.OutOfOrder, l.Refused,
			l.OpenGaps, l.OutboxDropped, strings.Join(note, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d lane(s); %d gap(s) open, %d overdue\n", len(r.Lanes), len(r.Gaps), r.Overdue)
}

type queryFlags struct {
	db, from, to string
	filter       store.Filter
	json         bool
}

func setupCollectQuery(fs *flag.FlagSet) runFunc {
	var f queryFlags
	fs.StringVar(&f.db, "db", "", "database (as for laned collect)")
	fs.StringVar(&f.filter.Site, "site", "", "site")
	fs.StringVar(&f.filter.Lane, "lane", "", "lane")
	fs.StringVar(&f.from, "from", "", "completed at or after: RFC 3339 time, or a duration ago (24h)")
	fs.StringVar(&f.to, "to", "", "completed before: RFC 3339 time, or a duration ago")
	fs.StringVar(&f.filter.Decision, "decision", "", "an occupant with this decision: match, no_match, no_usable_image")
	fs.StringVar(&f.filter.SubjectID, "subject", "", "an occupant matched to this subject id")
	fs.IntVar(&f.filter.Limit, "limit", 100, "most rows, newest first")
	fs.BoolVar(&f.json, "json", false, "print each summary as stored (JSON lines)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments %q", args)
		}
		now := time.Now().UTC()
		var err error
		if f.filter.From, err = parseWhen(f.from, now); err != nil {
			return usageErrorf("--from: %v", err)
		}
		if f.filter.To, err = parseWhen(f.to, now); err != nil {
			return usageErrorf("--to: %v", err)
		}
		switch summary.Decision(f.filter.Decision) {
		case "", summary.Match, summary.NoMatch, summary.NoUsableImage:
		default:
			return usageErrorf("--decision %q: want match, no_match or no_usable_image", f.filter.Decision)
		}
		if f.filter.Limit < 1 || f.filter.Limit > 1000000 {
			return usageErrorf("--limit %d: want 1..1000000", f.filter.Limit)
		}
		db, err := openForCLI(ctx, f.db)
		if err != nil {
			return err
		}
		defer db.Close()
		rows, err := db.Query(ctx, f.filter)
		if err != nil {
			return err
		}
		if f.json {
			for _, r := range rows {
				fmt.Fprintf(e.Stdout, "%s\n", r.Payload)
			}
			return nil
		}
		for _, r := range rows {
			line, _, err := formatPayload(r.Payload)
			if err != nil {
				line = fmt.Sprintf("%s %s/%s #%d (unreadable: %v)", r.At.Format(time.RFC3339), r.Site, r.Lane, r.Seq, err)
			}
			fmt.Fprintln(e.Stdout, line)
		}
		fmt.Fprintf(e.Stdout, "%d summaries\n", len(rows))
		return nil
	}
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a negative duration", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

func setupCollectQuarantine(fs *flag.FlagSet) runFunc {
	var db string
	var limit int
	var asJSON bool
	fs.StringVar(&db, "db", "", "database (as for laned collect)")
	fs.IntVar(&limit, "limit", 100, "most rows, newest first")
	fs.BoolVar(&asJSON, "json", false, "print as JSON")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments %q", args)
		}
		s, err := openForCLI(ctx, db)
		if err != nil {
			return err
		}
		defer s.Close()
		rs, err := s.Quarantined(ctx, limit)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(e.Stdout, rs)
		}
		tw := tabwriter.NewWriter(e.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RECEIVED\tTOPIC\tCODE\tBYTES\tREASON")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.ReceivedAt.Format(time.RFC3339), r.Topic, r.Code, r.Size, r.Reason)
		}
		return tw.Flush()
	}
}

func openForCLI(ctx context.Context, dsn string) (*store.DB, error) {
	if dsn == "" {
		return nil, usageErrorf("--db is required")
	}
	d, err := store.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if d.Engine == store.SQLite {
		if _, err := os.Stat(d.Path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--db %s: no such database (laned collect creates it)", d.Path)
		}
	}
	return store.OpenQuery(ctx, d)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
