package uplink

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("x"), 0o600)
	good := `
brokers: [ssl://broker-a.example:8883, ssl://broker-b.example:8883]
prefix: border/exit
username: lane-l2
password: s3cret
tls: {ca: ` + ca + `}
keepalive: 15s
in_flight: 32
backoff_min: 1s
backoff_max: 2m
`
	c, err := ParseConfig([]byte(good), "north-crossing", "L2")
	if err != nil {
		t.Fatal(err)
	}
	if c.KeepAlive != 15*time.Second || c.InFlight != 32 || c.ClientID != "laned-north-crossing-L2" || c.Jitter != 0.2 ||
		c.topic("transactions") != "border/exit/north-crossing/L2/transactions" {
		t.Errorf("parsed %+v", c)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"empty", ``, "uplink.brokers: at least one broker"},
		{"unknown key", "brokers: [tcp://a:1]\nbrokr: x", "field brokr not found"},
		{"site is not an uplink key", "brokers: [tcp://a:1]\nsite: s", "field site not found"},
		{"bad scheme", "brokers: [http://a:1]", `uplink.brokers[0]: scheme "http"`},
		{"no port", "brokers: [tcp://a]", "uplink.brokers[0]: \"tcp://a\" has no port"},
		{"empty prefix level", "brokers: [tcp://a:1]\nprefix: a//b", "uplink.prefix:"},
		{"password without user", "brokers: [tcp://a:1]\npassword: x", "uplink.username: a password needs a username"},
		{"cert without key", "brokers: [ssl://a:1]\ntls: {cert: " + ca + "}", "uplink.tls.cert: tls.cert and tls.key go together"},
		{"tls files without tls url", "brokers: [tcp://a:1]\ntls: {ca: " + ca + "}", "uplink.tls: TLS files are set"},
		{"window", "brokers: [tcp://a:1]\nin_flight: 70000", "uplink.in_flight: 70000"},
		{"bad duration", "brokers: [tcp://a:1]\nkeepalive: soon", "line 2: cannot unmarshal !!str `soon` into time.Duration"},
		{"backoff order", "brokers: [tcp://a:1]\nbackoff_min: 1m\nbackoff_max: 1s", "uplink.backoff_max: 1s is below backoff_min 1m0s"},
		{"jitter", "brokers: [tcp://a:1]\njitter: 1.5", "uplink.jitter: 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "s", "l")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte("brokers: [tcp://a:1883]\n"))
	f.Add([]byte("brokers: [ssl://a:8883, tcp://[::1]:1883]\nprefix: a/b\nin_flight: 1\njitter: 0.5\nkeepalive: 1h\n"))
	f.Add([]byte("brokers: [tcp://a:1]\nmax_payload: 1\n"))
	f.Add([]byte("{brokers: !!binary AAAA}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, "s", "l")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		// What is accepted is usable.
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		if c.InFlight < 1 || c.BackoffMax < c.BackoffMin || math.IsNaN(c.Jitter) || len(c.Brokers) == 0 {
			t.Fatalf("accepted bad config %+v", c)
		}
		if strings.ContainsAny(c.topic("transactions"), "#+\x00") {
			t.Fatalf("topic %q", c.topic("transactions"))
		}
	})
}

func TestBackoff(t *testing.T) {
	cfg := testConfig("tcp://a:1")
	cfg.BackoffMin, cfg.BackoffMax, cfg.Jitter = time.Second, 30*time.Second, 0.2
	r := 0.5
	p := &Publisher{cfg: cfg, rnd: func() float64 { return r }}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		if got := p.backoff(i); got != w*time.Second {
			t.Errorf("round %d: %s, want %s", i, got, w*time.Second)
		}
	}
	r = 0
	if got := p.backoff(0); got != 800*time.Millisecond {
		t.Errorf("jitter low: %s", got)
	}
	r = 0.999999
	if got := p.backoff(10); got < 35*time.Second || got > 36*time.Second {
		t.Errorf("jitter high: %s", got)
	}
}

// TestRetryWaitsOnTheClock: with a fake clock, no second attempt happens
// until the backoff has elapsed.
func TestRetryWaitsOnTheClock(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := testConfig("tcp://127.0.0.1:1")
	cfg.BackoffMin, cfg.BackoffMax = 10*time.Second, time.Minute
	attempts := make(chan struct{}, 10)
	p := runPublisher(t, Options{Config: cfg, Outbox: openOutbox(t, ""), Clock: fake, Rand: func() float64 { return 0.5 },
		NewClient: countingClient(attempts)})
	<-attempts
	st := waitStatus(t, p, 5*time.Second, "retry scheduled", func(s Status) bool { return !s.NextRetry.IsZero() })
	if d := st.NextRetry.Sub(fake.Now()); d != 10*time.Second {
		t.Errorf("next retry in %s, want 10s", d)
	}
	fake.Advance(9 * time.Second)
	select {
	case <-attempts:
		t.Fatal("retried before the backoff elapsed")
	case <-time.After(50 * time.Millisecond):
	}
	fake.Advance(time.Second)
	<-attempts
	st = waitStatus(t, p, 5*time.Second, "second retry scheduled", func(s Status) bool { return s.NextRetry.Sub(fake.Now()) == 20*time.Second })
	_ = st
}

// TestValidateIsPure: Validate reads no file; CheckFiles names the missing
// one; a wildcard lane (top-level identity) is refused by Validate.
func TestValidateIsPure(t *testing.T) {
	c := Config{Brokers: []string{"ssl://a:1"}, Site: "s", Lane: "l", TLS: TLSConfig{CA: "/nonexistent/ca.pem"}}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate looked at the file system: %v", err)
	}
	if err := c.CheckFiles(); err == nil || !strings.Contains(err.Error(), "uplink.tls.ca: stat /nonexistent/ca.pem") {
		t.Errorf("CheckFiles: %v", err)
	}
	c.Lane = "#"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "uplink.lane:") {
		t.Errorf("wildcard lane: %v", err)
	}
}

// TestPasswordCredential: the password comes from a systemd credential,
// never the command line; without $CREDENTIALS_DIRECTORY New says why.
func TestPasswordCredential(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mqtt-password"), []byte("s3cret\nignored\n"), 0o600)
	cfg := testConfig("tcp://127.0.0.1:1")
	cfg.Username, cfg.PasswordCredential = "lane", "mqtt-password"
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if _, err := New(Options{Config: cfg, Outbox: openOutbox(t, ""), Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "CREDENTIALS_DIRECTORY is not set") {
		t.Fatalf("without the credentials directory: %v", err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	p, err := New(Options{Config: cfg, Outbox: openOutbox(t, ""), Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if p.password != "s3cret" {
		t.Errorf("password %q", p.password)
	}
	cfg.PasswordFile = "/x"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "set one of password") {
		t.Errorf("file and credential both: %v", err)
	}
}
