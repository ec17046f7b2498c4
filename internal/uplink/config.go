package uplink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config configures the uplink (the "uplink:" section of laned's config).
// Zero fields take the defaults named here (see WithDefaults).
type Config struct {
	// Brokers are tried in order, then round again (failover):
	// tcp://host:1883, ssl://host:8883 (also mqtt://, mqtts://, tls://).
	Brokers []string `yaml:"brokers"`
	// Prefix starts every topic: {prefix}/{site}/{lane}/... Default "laned".
	Prefix string `yaml:"prefix"`
	// Site and Lane are the lane's identity: top-level keys of laned's
	// config (package config copies them here), not uplink keys.
	Site string `yaml:"-"`
	Lane string `yaml:"-"`
	// ClientID defaults to laned-{site}-{lane}.
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	// Password, or PasswordFile (first line) to keep it out of the config.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// PasswordCredential names a systemd credential holding the password
	// ($CREDENTIALS_DIRECTORY/NAME, first line).
	PasswordCredential string    `yaml:"password_credential"`
	TLS                TLSConfig `yaml:"tls"`
	// KeepAlive is the MQTT keepalive. Default 30s.
	KeepAlive time.Duration `yaml:"keepalive"`
	// ConnectTimeout bounds one connection attempt. Default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// InFlight is how many messages may wait for their PUBACK. 1 is
	// strict order on the wire; consumers restore order by sequence
	// anyway. Default 64.
	InFlight int `yaml:"in_flight"`
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// after each round of failed brokers; Jitter (0..1) randomises it by
	// ±that fraction. Defaults 500ms, 60s, 0.2.
	BackoffMin time.Duration `yaml:"backoff_min"`
	BackoffMax time.Duration `yaml:"backoff_max"`
	Jitter     float64       `yaml:"jitter"`
	// MaxPayload refuses (and quarantines) larger payloads before they
	// reach the broker. Default 64 KiB.
	MaxPayload int `yaml:"max_payload"`
}

// TLSConfig enables TLS for ssl:// brokers.
type TLSConfig struct {
	CA   string `yaml:"ca"`   // PEM file of the CA(s) to trust; empty: system roots
	Cert string `yaml:"cert"` // client certificate (PEM), with Key
	Key  string `yaml:"key"`
	// ServerName overrides the host name checked in the broker's certificate.
	ServerName string `yaml:"server_name"`
}

var reTopicPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseConfig reads an uplink section strictly (unknown keys are errors)
// for the lane site/lane, applies defaults and validates.
func ParseConfig(b []byte, site, lane string) (Config, error) {
	c := Config{Site: site, Lane: lane}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("uplink config: %w", err)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "laned"
	}
	if c.ClientID == "" && c.Site != "" && c.Lane != "" {
		c.ClientID = "laned-" + c.Site + "-" + c.Lane
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.KeepAlive, 30*time.Second)
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.BackoffMin, 500*time.Millisecond)
	def(&c.BackoffMax, time.Minute)
	if c.InFlight == 0 {
		c.InFlight = 64
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 64 << 10
	}
	return c
}

// Validate checks a config after WithDefaults; errors name the field. It
// reads no file: CheckFiles does (for `laned check` and New).
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("uplink.%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if len(c.Brokers) == 0 {
		bad("brokers", "at least one broker URL is needed (e.g. ssl://broker.example:8883)")
	}
	anyTLS := false
	for i, b := range c.Brokers {
		u, err := url.Parse(b)
		switch {
		case err != nil:
			bad(fmt.Sprintf("brokers[%d]", i), "%q is not a URL: %v", b, err)
			continue
		case u.Host == "" || u.Hostname() == "":
			bad(fmt.Sprintf("brokers[%d]", i), "%q has no host (want scheme://host:port)", b)
		case u.Port() == "":
			bad(fmt.Sprintf("brokers[%d]", i), "%q has no port", b)
		}
		switch u.Scheme {
		case "tcp", "mqtt":
		case "ssl", "tls", "mqtts":
			anyTLS = true
		default:
			bad(fmt.Sprintf("brokers[%d]", i), "scheme %q of %q is not tcp, mqtt, ssl, tls or mqtts", u.Scheme, b)
		}
	}
	for _, f := range []struct{ name, v string }{{"prefix", c.Prefix}, {"site", c.Site}, {"lane", c.Lane}} {
		if f.name == "prefix" {
			for _, part := range strings.Split(f.v, "/") {
				if !reTopicPart.MatchString(part) {
					bad("prefix", "%q: each level must match %s (no wildcards, no empty level)", f.v, reTopicPart)
					break
				}
			}
			continue
		}
		if !reTopicPart.MatchString(f.v) {
			bad(f.name, "%q must match %s", f.v, reTopicPart)
		}
	}
	if c.ClientID == "" || len(c.ClientID) > 128 {
		bad("client_id", "%q must be 1..128 bytes", c.ClientID)
	}
	if n := btoi(c.Password != "") + btoi(c.PasswordFile != "") + btoi(c.PasswordCredential != ""); n > 1 {
		bad("password_file", "set one of password, password_file and password_credential")
	}
	if strings.ContainsAny(c.PasswordCredential, "/\x00") || c.PasswordCredential == ".." {
		bad("password_credential", "%q is not a credential name", c.PasswordCredential)
	}
	if (c.Password != "" || c.PasswordFile != "" || c.PasswordCredential != "") && c.Username == "" {
		bad("username", "a password needs a username")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("tls.cert", "tls.cert and tls.key go together")
	}
	if !anyTLS && (c.TLS.CA != "" || c.TLS.Cert != "") {
		bad("tls", "TLS files are set but no broker URL uses ssl://, tls:// or mqtts://")
	}
	pos := func(field string, d, min time.Duration) {
		if d < min {
			bad(field, "%s, must be at least %s", d, min)
		}
	}
	pos("keepalive", c.KeepAlive, time.Second)
	pos("connect_timeout", c.ConnectTimeout, 100*time.Millisecond)
	pos("backoff_min", c.BackoffMin, time.Millisecond)
	if c.BackoffMax < c.BackoffMin {
		bad("backoff_max", "%s is below backoff_min %s", c.BackoffMax, c.BackoffMin)
	}
	if c.KeepAlive > 65535*time.Second {
		bad("keepalive", "%s exceeds MQTT's 65535 s", c.KeepAlive)
	}
	if c.InFlight < 1 || c.InFlight > 65535 {
		bad("in_flight", "%d, must be 1..65535", c.InFlight)
	}
	if c.Jitter < 0 || c.Jitter > 1 || c.Jitter != c.Jitter {
		bad("jitter", "%v, must be 0..1", c.Jitter)
	}
	if c.MaxPayload < 1 || c.MaxPayload > 256<<20-1 {
		bad("max_payload", "%d, must be 1..%d (MQTT limit)", c.MaxPayload, 256<<20-1)
	}
	return errors.Join(errs...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// passwordPath is the file holding the password, if any.
func (c Config) passwordPath() (string, error) {
	if c.PasswordCredential == "" {
		return c.PasswordFile, nil
	}
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return "", fmt.Errorf("uplink.password_credential %q: $CREDENTIALS_DIRECTORY is not set (no LoadCredential= in the unit?)", c.PasswordCredential)
	}
	return filepath.Join(dir, c.PasswordCredential), nil
}

// CheckFiles checks that the files the config names exist.
func (c Config) CheckFiles() error {
	var errs []error
	pw, err := c.passwordPath()
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct{ name, path string }{{"tls.ca", c.TLS.CA}, {"tls.cert", c.TLS.Cert}, {"tls.key", c.TLS.Key}, {"password", pw}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("uplink.%s: %v", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// topic returns {prefix}/{site}/{lane}/{leaf}.
func (c *Config) topic(leaf string) string {
	return c.Prefix + "/" + c.Site + "/" + c.Lane + "/" + leaf
}
