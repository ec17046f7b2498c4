package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/tlsfiles"
	"github.com/laned/laned/internal/uplink"
)

func init() {
	register(&command{
		Name:  "tail",
		Short: "print the transaction summaries and events lanes publish (central office)",
		Usage: "--broker URL [--prefix P] [--site S] [--lane L] [--json] [--ca F --cert F --key F] [--username U [--password-file F]]",
		Setup: setupTail,
	})
}

type tailFlags struct {
	broker, prefix, site, lane      string
	json                            bool
	ca, cert, key, username, passwd string
	clientID                        string
	status                          bool
	passwdFile                      string
	allowPlain                      bool
}

func setupTail(fs *flag.FlagSet) runFunc {
	var f tailFlags
	fs.StringVar(&f.broker, "broker", "", "broker URL, e.g. ssl://broker.example:8883 (comma-separated for failover)")
	fs.StringVar(&f.prefix, "prefix", "laned", "topic prefix")
	fs.StringVar(&f.site, "site", "+", "site to follow (default all)")
	fs.StringVar(&f.lane, "lane", "+", "lane to follow (default all)")
	fs.BoolVar(&f.json, "json", false, "print each payload as received, one per line")
	fs.BoolVar(&f.status, "status", false, "also print lane status (online/offline)")
	fs.StringVar(&f.ca, "ca", "", "CA certificate (PEM) to trust for ssl:// brokers")
	fs.StringVar(&f.cert, "cert", "", "client certificate (PEM)")
	fs.StringVar(&f.key, "key", "", "client key (PEM)")
	fs.StringVar(&f.username, "username", "", "MQTT user name")
	fs.StringVar(&f.passwd, "password", "", "refused: a password on the command line is visible in ps; use --password-file")
	fs.StringVar(&f.passwdFile, "password-file", "", "file holding the MQTT password (default $LANED_MQTT_PASSWORD, else the systemd credential "+tailCredential+")")
	fs.BoolVar(&f.allowPlain, "allow-plaintext-password", false, "allow sending the password over plain tcp:// (trusted networks only)")
	fs.StringVar(&f.clientID, "client-id", "", "MQTT client id (default laned-tail-PID)")
	return func(ctx context.Context, e *env, args []string) error { return runTail(ctx, e, f, args) }
}

func runTail(ctx context.Context, e *env, f tailFlags, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q", args)
	}
	if f.broker == "" {
		return usageErrorf("--broker is required")
	}
	for _, v := range []struct{ name, val string }{{"prefix", f.prefix}, {"site", f.site}, {"lane", f.lane}} {
		if v.val == "" || strings.ContainsAny(v.val, "#") || (strings.Contains(v.val, "+") && v.val != "+") {
			return usageErrorf("--%s %q: a name, or + for all", v.name, v.val)
		}
	}
	if f.passwd != "" {
		return usageErrorf("--password is visible to every user in ps; use --password-file FILE, $LANED_MQTT_PASSWORD or the systemd credential %s", tailCredential)
	}
	passwd, err := tailPassword(f.passwdFile)
	if err != nil {
		return err
	}
	if passwd != "" && f.username == "" {
		return usageErrorf("a password needs --username")
	}
	f.passwd = passwd
	brokers := strings.Split(f.broker, ",")
	for i := range brokers {
		brokers[i] = strings.TrimSpace(brokers[i])
	}
	if err := checkBrokers(brokers, f.passwd != "", f.allowPlain); err != nil {
		return err
	}
	o := mqtt.NewClientOptions().SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).SetMaxReconnectInterval(30 * time.Second).SetOrderMatters(true).
		SetProtocolVersion(4).SetConnectTimeout(10 * time.Second)
	for _, b := range brokers {
		o.AddBroker(b)
	}
	if f.clientID == "" {
		f.clientID = fmt.Sprintf("laned-tail-%d", os.Getpid())
	}
	o.SetClientID(f.clientID)
	if f.username != "" {
		o.SetUsername(f.username).SetPassword(f.passwd)
	}
	if (f.cert == "") != (f.key == "") {
		return usageErrorf("--cert and --key go together")
	}
	tc, err := tlsfiles.Client(f.ca, f.cert, f.key, "") // the uplink's rules and words
	if err != nil {
		return fmt.Errorf("tail: --ca/--cert/--key: %w", err)
	}
	o.SetTLSConfig(tc)

	base := f.prefix + "/" + f.site + "/" + f.lane + "/"
	filters := map[string]byte{base + "transactions": 1, base + "events": 1}
	if f.status {
		filters[base+"status"] = 1
	}
	p := &tailPrinter{out: e.Stdout, errw: e.Stderr, raw: f.json, seen: map[string]struct{}{}}
	connected := make(chan struct{}, 1)
	o.SetOnConnectHandler(func(c mqtt.Client) {
		tok := c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) { p.print(m.Topic(), m.Payload()) })
		tok.Wait()
		if err := tok.Error(); err != nil {
			e.Log.Error("tail: subscribe", "err", err)
			return
		}
		e.Log.Info("tail: subscribed", "filters", len(filters), "prefix", base)
		select {
		case connected <- struct{}{}:
		default:
		}
	})
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		e.Log.Warn("tail: connection lost, reconnecting", "err", forTerminal(err.Error()), "reason", uplink.Classify(err))
	})
	cl := mqtt.NewClient(o)
	tok := cl.Connect() // with ConnectRetry it keeps trying; report why meanwhile
	defer cl.Disconnect(250)
	first := time.NewTimer(10 * time.Second)
	defer first.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-connected:
	case <-first.C:
		e.Log.Warn("tail: still not connected after 10s; retrying", "broker", redactURLs(f.broker))
	}
	_ = tok
	<-ctx.Done()
	return nil
}

// tailPrinter prints payloads; in pretty mode it drops duplicates (the
// uplink re-sends after a lost PUBACK) by message_id.
type tailPrinter struct {
	mu    sync.Mutex
	out   io.Writer
	errw  io.Writer
	raw   bool
	seen  map[string]struct{}
	order []string
	dups  int
}

const tailDedupWindow = 100000

func (p *tailPrinter) print(topic string, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.raw { // one payload per line, as received (compacted)
		var c bytes.Buffer
		if err := json.Compact(&c, payload); err != nil {
			fmt.Fprintf(p.errw, "laned tail: %s: not JSON: %s\n", forTerminal(topic), forTerminal(err.Error()))
			return
		}
		p.out.Write(append(jsonForTerminal(c.Bytes()), '\n'))
		return
	}
	line, id, err := formatPayload(payload)
	if err != nil {
		fmt.Fprintf(p.errw, "laned tail: %s: %s\n", forTerminal(topic), forTerminal(err.Error()))
		return
	}
	if id != "" {
		if _, dup := p.seen[id]; dup {
			p.dups++
			return
		}
		p.seen[id] = struct{}{}
		p.order = append(p.order, id)
		if len(p.order) > tailDedupWindow {
			delete(p.seen, p.order[0])
			p.order = p.order[1:]
		}
	}
	fmt.Fprintln(p.out, line)
}

// formatPayload renders one payload as a line safe for a terminal; it
// returns the message id for deduplication.
func formatPayload(b []byte) (line, id string, err error) {
	line, id, err = renderPayload(b)
	return forTerminal(line), id, err
}

func renderPayload(b []byte) (line, id string, err error) {
	v, err := summary.Unmarshal(b)
	if err != nil {
		return "", "", err
	}
	var s strings.Builder
	switch x := v.(type) {
	case *summary.Transaction:
		fmt.Fprintf(&s, "%s %s/%s #%d vehicle %s: %d occupant(s)", x.CompletedAt.Format(time.RFC3339), x.Site, x.Lane,
			x.Sequence, x.TransactionID, len(x.Occupants))
		for _, o := range x.Occupants {
			fmt.Fprintf(&s, " [%d %s", o.Index, o.Decision)
			switch o.Decision {
			case summary.Match:
				fmt.Fprintf(&s, " %s score %.3f", o.SubjectID, *o.Score)
			case summary.NoUsableImage:
				fmt.Fprintf(&s, ": %s", o.Reason)
			}
			if o.Quality != nil {
				fmt.Fprintf(&s, " q %.2f", *o.Quality)
			}
			s.WriteString("]")
		}
		fmt.Fprintf(&s, " gallery %s model %s %.0f ms", x.GalleryVersion, x.ModelID, x.Latency.Total)
		return s.String(), x.MessageID, nil
	case *summary.Event:
		fmt.Fprintf(&s, "%s %s/%s #%d %s %s %s: %s", x.At.Format(time.RFC3339), x.Site, x.Lane, x.Sequence,
			x.Category, strings.ToUpper(x.Severity), x.Code, x.Message)
		if x.Actor != "" {
			fmt.Fprintf(&s, " (by %s)", x.Actor)
		}
		return s.String(), x.MessageID, nil
	case *summary.Status:
		fmt.Fprintf(&s, "%s/%s %s version %s", x.Site, x.Lane, strings.ToUpper(x.State), x.Version)
		if x.Reason != "" {
			fmt.Fprintf(&s, " (%s)", x.Reason)
		}
		return s.String(), "", nil
	case *summary.Health:
		fmt.Fprintf(&s, "%s %s/%s health: up %.0fs, outbox %d", x.At.Format(time.RFC3339), x.Site, x.Lane, x.UptimeS, x.Outbox.Depth)
		return s.String(), x.MessageID, nil
	}
	return "", "", fmt.Errorf("unexpected payload %T", v)
}
