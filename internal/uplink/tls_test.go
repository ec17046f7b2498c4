package uplink

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/uplink/mosquittotest"
)

// TestStatusSaysWhy: each way of failing to connect is reported with its
// reason, and the lane keeps queuing meanwhile.
func TestStatusSaysWhy(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: true})
	c := b.Certs
	closed := mosquittotest.FreePort(t)
	cases := []struct {
		name   string
		url    string
		tls    TLSConfig
		reason string
		detail string
	}{
		{"unreachable broker", "tcp://127.0.0.1:" + itoa(closed), TLSConfig{}, ReasonUnreachable, "connection refused"},
		{"wrong CA", b.TLSURL(b.TLSPort), TLSConfig{CA: c.OtherCA, Cert: c.Client, Key: c.ClientKey}, ReasonUnknownCA, "unknown authority"},
		{"wrong hostname", "ssl://localhost:" + itoa(b.WrongHostPort), TLSConfig{CA: c.CA}, ReasonWrongHostname, "broker.elsewhere.example"},
		{"no IP SAN", b.TLSURL(b.WrongHostPort), TLSConfig{CA: c.CA}, ReasonWrongHostname, "127.0.0.1"},
		{"expired certificate", b.TLSURL(b.ExpiredPort), TLSConfig{CA: c.CA}, ReasonExpired, "expired"},
		// Whether Go reads the broker's alert or the reset first is a race:
		// both reasons start with "TLS: broker".
		{"no client certificate", b.TLSURL(b.TLSPort), TLSConfig{CA: c.CA}, "TLS: broker", ""},
		{"expired client certificate", b.TLSURL(b.TLSPort), TLSConfig{CA: c.CA, Cert: c.ExpiredClient, Key: c.ExpiredClientKey}, "TLS: broker", ""},
		{"plain TCP on a TLS port", "tcp://127.0.0.1:" + itoa(b.TLSPort), TLSConfig{}, ReasonClosed, ""},
		{"TLS on a plain port", b.TLSURL(b.Port), TLSConfig{CA: c.CA}, "TLS:", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.url)
			cfg.TLS = tc.tls
			if !strings.HasPrefix(tc.url, "ssl") {
				cfg.TLS = TLSConfig{}
			}
			ob := openOutbox(t, "")
			p := runPublisher(t, Options{Config: cfg, Outbox: ob})
			st := waitStatus(t, p, 10*time.Second, "a failure reason", func(s Status) bool { return s.Reason != "" })
			t.Logf("%s", st)
			if st.State != StateConnecting {
				t.Errorf("state %s", st.State)
			}
			if tc.reason != "" && !strings.HasPrefix(st.Reason, tc.reason) {
				t.Errorf("reason %q, want %q (error: %s)", st.Reason, tc.reason, st.LastError)
			}
			if tc.detail != "" && !strings.Contains(st.LastError, tc.detail) {
				t.Errorf("last error %q does not mention %q", st.LastError, tc.detail)
			}
			if _, err := ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", 1)); err != nil {
				t.Errorf("lane cannot queue while the uplink fails: %v", err)
			}
		})
	}
}

func TestTLSWithClientCertificateAndPassword(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: true, Users: map[string]string{"lane1": "s3cret"}})
	c := b.Certs
	ob := openOutbox(t, "")
	ob.Enqueue(context.Background(), outbox.KindSummary, transaction(t, "L1", 1))
	cfg := testConfig(b.TLSURL(b.TLSPort))
	cfg.TLS = TLSConfig{CA: c.CA, Cert: c.Client, Key: c.ClientKey}
	cfg.Username, cfg.Password = "lane1", "s3cret"
	p := runPublisher(t, Options{Config: cfg, Outbox: ob})
	waitStatus(t, p, 10*time.Second, "sent over TLS", func(s Status) bool { return s.Acked == 1 })

	cfg.Password = "wrong"
	p2 := runPublisher(t, Options{Config: cfg, Outbox: openOutbox(t, "")})
	st := waitStatus(t, p2, 10*time.Second, "refused", func(s Status) bool { return s.Reason != "" })
	if st.Reason != ReasonAuth && st.Reason != ReasonNotAuthorized {
		t.Errorf("wrong password: %s", st)
	}
	t.Logf("%s", st)
}

func itoa(n int) string { return strconv.Itoa(n) }
