package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Broker dials the MQTT broker at rawURL (ssl://, tls://, mqtts://, tcp://,
// mqtt://) and, for TLS, completes a handshake with cfg (from
// tlsfiles.Client), which verifies the chain and the name. It fails on a
// plain-text broker unless allowPlain (a loopback test broker).
func Broker(rawURL string, cfg *tls.Config, allowPlain bool) Check {
	return Check{Name: "broker", Run: func(ctx context.Context) (string, error) {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("broker %q: not a URL like ssl://host:8883", rawURL)
		}
		secure := false
		switch u.Scheme {
		case "ssl", "tls", "mqtts", "tcps":
			secure = true
		case "tcp", "mqtt":
		default:
			return "", fmt.Errorf("broker %s: unknown scheme %q", rawURL, u.Scheme)
		}
		host := u.Host
		if u.Port() == "" {
			if secure {
				host = net.JoinHostPort(u.Hostname(), "8883")
			} else {
				host = net.JoinHostPort(u.Hostname(), "1883")
			}
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return "", fmt.Errorf("broker %s unreachable: %w", rawURL, err)
		}
		defer conn.Close()
		if !secure {
			if !allowPlain {
				return "", fmt.Errorf("broker %s reachable but without TLS: summaries would travel in clear", rawURL)
			}
			return fmt.Sprintf("broker %s reachable (plain TCP, allowed)", rawURL), nil
		}
		c := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg != nil {
			c = cfg.Clone()
		}
		if c.ServerName == "" {
			c.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, c)
		if dl, ok := ctx.Deadline(); ok {
			tc.SetDeadline(dl)
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", fmt.Errorf("broker %s: TLS chain not valid: %s", rawURL, describeTLS(err))
		}
		st := tc.ConnectionState()
		leaf := st.PeerCertificates[0]
		left := time.Until(leaf.NotAfter)
		detail := fmt.Sprintf("broker %s reachable, TLS chain valid (%s, issuer %s), certificate expires in %d days",
			rawURL, leaf.Subject.CommonName, leaf.Issuer.CommonName, int(left.Hours()/24))
		if left < 14*24*time.Hour {
			return "", fmt.Errorf("%s: renew it", detail)
		}
		return detail, nil
	}}
}

func describeTLS(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "signed by an unknown authority (wrong CA file?): " + err.Error()
	case errors.As(err, &hn):
		return "certificate is for another name: " + err.Error()
	case errors.As(err, &ci):
		return "certificate invalid (expired or not yet valid?): " + err.Error()
	}
	return strings.TrimPrefix(err.Error(), "tls: ")
}
