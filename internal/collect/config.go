package collect

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/laned/laned/internal/collect/store"
	"github.com/laned/laned/internal/summary"
)

// Config configures a collector. Zero fields take the defaults named here.
type Config struct {
	// Brokers are tried in order (failover): tcp://, ssl:// (mqtt://, mqtts://, tls://).
	Brokers []string
	// ClientID is fixed so the broker keeps the session (and queues) while
	// the collector is away. Each collector of a group needs its own.
	// Default "laned-collect".
	ClientID string
	// Group, when set, subscribes through the shared subscription
	// $share/Group/…: the broker delivers each message to one collector
	// of the group.
	Group string
	// Prefix is the lanes' topic prefix. Default "laned".
	Prefix             string
	Username, Password string
	CA, Cert, Key      string // TLS files (PEM)
	ServerName         string
	KeepAlive          time.Duration // default 30s
	ConnectTimeout     time.Duration // default 10s
	// BatchMax bounds one transaction. Default 1000.
	BatchMax int
	// MaxPayload refuses larger payloads (quarantine, code oversize).
	// Default summary.MaxSize (32 KiB).
	MaxPayload int
	// Grace is how long a sequence gap may stay open before it is
	// reported (messages can arrive late after a failover). Default 10m.
	Grace time.Duration
	// Silent lists a lane that sent no health report for this long.
	// Default 5m (lanes report every minute).
	Silent time.Duration
	// Retention is the office's policy (default store.DefaultRetention);
	// RetentionEvery how often it runs (default 1h).
	Retention      store.Retention
	RetentionEvery time.Duration
	// Lanes, when not empty, are the only lanes accepted: a payload from
	// another lane is quarantined (code unknown_lane).
	Lanes []LaneID
}

// LaneID names a lane.
type LaneID struct{ Site, Lane string }

func (l LaneID) String() string { return l.Site + "/" + l.Lane }

var reName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseLanes reads a --lanes list: one site/lane per line, # comments.
func ParseLanes(text string) ([]LaneID, error) {
	var out []LaneID
	seen := map[LaneID]bool{}
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		site, lane, ok := strings.Cut(line, "/")
		if !ok || !reName.MatchString(site) || !reName.MatchString(lane) {
			return nil, fmt.Errorf("lanes line %d: %q is not site/lane (names match %s)", i+1, line, reName)
		}
		l := LaneID{site, lane}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// WithDefaults returns c with zero fields set.
func (c Config) WithDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "laned-collect"
	}
	if c.Prefix == "" {
		c.Prefix = "laned"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.KeepAlive, 30*time.Second)
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.Grace, 10*time.Minute)
	def(&c.Silent, 5*time.Minute)
	def(&c.RetentionEvery, time.Hour)
	if c.Retention == (store.Retention{}) {
		c.Retention = store.DefaultRetention
	}
	if c.BatchMax == 0 {
		c.BatchMax = 1000
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = summary.MaxSize
	}
	return c
}

// Validate checks c after WithDefaults; errors name the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("collect.%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "at least one broker URL is needed (e.g. ssl://broker.example:8883)")
	}
	anyTLS := false
	for i, b := range c.Brokers {
		u, err := url.Parse(b)
		if err != nil {
			bad(fmt.Sprintf("brokers[%d]", i), "%q is not a URL: %v", b, err)
			continue
		}
		switch u.Scheme {
		case "tcp", "mqtt":
		case "ssl", "tls", "mqtts":
			anyTLS = true
		default:
			bad(fmt.Sprintf("brokers[%d]", i), "scheme %q of %q is not tcp, mqtt, ssl, tls or mqtts", u.Scheme, b)
		}
		if u.Hostname() == "" || u.Port() == "" {
			bad(fmt.Sprintf("brokers[%d]", i), "%q: want scheme://host:port", b)
		}
	}
	if c.ClientID == "" || len(c.ClientID) > 128 || strings.ContainsAny(c.ClientID, "+#/") {
		bad("client_id", "%q must be 1..128 bytes without + # /", c.ClientID)
	}
	if c.Group != "" && !reName.MatchString(c.Group) {
		bad("group", "%q must match %s", c.Group, reName)
	}
	for _, part := range strings.Split(c.Prefix, "/") {
		if !reName.MatchString(part) {
			bad("prefix", "%q: each level must match %s", c.Prefix, reName)
			break
		}
	}
	if c.Password != "" && c.Username == "" {
		bad("username", "a password needs a username")
	}
	if (c.Cert == "") != (c.Key == "") {
		bad("cert", "cert and key go together")
	}
	if !anyTLS && (c.CA != "" || c.Cert != "") {
		bad("tls", "TLS files are set but no broker URL uses ssl://, tls:// or mqtts://")
	}
	if c.KeepAlive < time.Second || c.KeepAlive > 65535*time.Second {
		bad("keepalive", "%s, must be 1s..65535s", c.KeepAlive)
	}
	if c.ConnectTimeout < 100*time.Millisecond {
		bad("connect_timeout", "%s, must be at least 100ms", c.ConnectTimeout)
	}
	if c.BatchMax < 1 || c.BatchMax > 100000 {
		bad("batch_max", "%d, must be 1..100000", c.BatchMax)
	}
	if c.MaxPayload < 1 || c.MaxPayload > 256<<20 {
		bad("max_payload", "%d, must be 1..%d", c.MaxPayload, 256<<20)
	}
	if c.Grace < 0 || c.Silent <= 0 || c.RetentionEvery <= 0 {
		bad("grace", "grace must be ≥ 0, silent and retention_every > 0 (%s, %s, %s)", c.Grace, c.Silent, c.RetentionEvery)
	}
	for _, l := range c.Lanes {
		if !reName.MatchString(l.Site) || !reName.MatchString(l.Lane) {
			bad("lanes", "%q is not a valid site/lane", l)
		}
	}
	return errors.Join(errs...)
}

// Leaves are the topic leaves a collector subscribes to.
var Leaves = []string{"transactions", "events", "health", "status"}

// Filters are the subscriptions for c: {prefix}/+/+/{leaf}, through
// $share/{group}/ when c.Group is set.
func (c Config) Filters() []string {
	var out []string
	for _, leaf := range Leaves {
		f := c.Prefix + "/+/+/" + leaf
		if c.Group != "" {
			f = "$share/" + c.Group + "/" + f
		}
		out = append(out, f)
	}
	return out
}

// Topic is a parsed lane topic.
type Topic struct {
	Site, Lane, Leaf string
}

// ParseTopic splits {prefix}/{site}/{lane}/{leaf}; site and lane must be
// valid names and leaf one of Leaves.
func ParseTopic(prefix, topic string) (Topic, error) {
	rest, ok := strings.CutPrefix(topic, prefix+"/")
	if !ok {
		return Topic{}, fmt.Errorf("topic %q is not under prefix %q", clip(topic), prefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return Topic{}, fmt.Errorf("topic %q: want %s/SITE/LANE/LEAF", clip(topic), prefix)
	}
	t := Topic{Site: parts[0], Lane: parts[1], Leaf: parts[2]}
	if !reName.MatchString(t.Site) || !reName.MatchString(t.Lane) {
		return Topic{}, fmt.Errorf("topic %q: site and lane must match %s", clip(topic), reName)
	}
	for _, l := range Leaves {
		if t.Leaf == l {
			return t, nil
		}
	}
	return Topic{}, fmt.Errorf("topic %q: unknown leaf %q", clip(topic), clip(t.Leaf))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
