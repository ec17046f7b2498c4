package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/laned/laned/internal/safefile"
)

// Secrets and terminal hygiene of `laned tail`: the MQTT password comes
// from a file, the environment or a systemd credential, never from argv;
// it is not sent over plain TCP unless the operator says so; URLs are
// logged without credentials; text from payloads and topics is made
// harmless before it reaches a terminal.

// tailCredential is the systemd credential (LoadCredential=) holding the
// MQTT password.
const tailCredential = "mqtt-password"

// tailPassword returns the MQTT password: from file when given, else
// $LANED_MQTT_PASSWORD, else the credential $CREDENTIALS_DIRECTORY/
// mqtt-password when it exists, else "".
func tailPassword(file string) (string, error) {
	if file != "" {
		b, err := safefile.ReadFile(file, 4<<10)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v := os.Getenv("LANED_MQTT_PASSWORD"); v != "" {
		return v, nil
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		p := filepath.Join(dir, tailCredential)
		if _, err := os.Stat(p); err == nil {
			b, err := safefile.ReadFile(p, 4<<10)
			if err != nil {
				return "", fmt.Errorf("credential %s: %w", tailCredential, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
	}
	return "", nil
}

// checkBrokers refuses credentials in broker URLs (they would be on argv
// and in logs) and a password over a plain connection unless allowed.
func checkBrokers(brokers []string, password bool, allowPlain bool) error {
	for _, b := range brokers {
		u, err := url.Parse(b)
		if err != nil {
			return usageErrorf("--broker %s: %v", redactURL(b), errors.Unwrap(err))
		}
		if u.User != nil {
			return usageErrorf("--broker %s: credentials in the broker URL are visible in ps and logs; use --username and --password-file", redactURL(b))
		}
		if plain := u.Scheme == "tcp" || u.Scheme == "mqtt" || u.Scheme == "ws"; plain && password && !allowPlain {
			return usageErrorf("--broker %s: refusing to send a password over plain %s:// (use ssl:// or wss://, or --allow-plaintext-password on a trusted network)", redactURL(b), u.Scheme)
		}
	}
	return nil
}

// redactURL returns s with any password replaced, for logs and errors.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "REDACTED@" + s[i+1:]
		}
		return s
	}
	if u.User != nil {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// redactURLs redacts each of a comma-separated broker list.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// forTerminal makes untrusted text safe to print: control characters (C0,
// DEL, C1, which carry escape sequences), bidi controls and invalid UTF-8
// become visible \u/\x escapes. Newlines are escaped too: one payload, one
// line.
func forTerminal(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// jsonForTerminal does the same for one compact JSON document: raw C1,
// bidi controls and invalid UTF-8 can only sit inside strings, where a
// \uXXXX escape keeps the document valid and its meaning unchanged.
func jsonForTerminal(b []byte) []byte {
	s := string(b)
	var out strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out.WriteString(`\ufffd`)
		case r >= 0x80 && unsafeRune(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.WriteString(s[i : i+n])
		}
		i += n
	}
	return []byte(out.String())
}
