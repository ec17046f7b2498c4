package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/laned/laned/internal/outbox"
)

// errs collects a section's field errors under its key path.
type errs struct {
	section string
	list    []error
}

func (e *errs) bad(field, format string, a ...any) {
	e.list = append(e.list, fmt.Errorf("%s.%s: %s", e.section, field, fmt.Sprintf(format, a...)))
}

func (e *errs) err() error { return errors.Join(e.list...) }

func (e *errs) abs(field, p string, optional bool) {
	if p == "" && optional {
		return
	}
	if !filepath.IsAbs(p) {
		e.bad(field, "%q is not an absolute path", p)
	}
}

func (e *errs) atLeast(field string, d, min time.Duration) {
	if d < min {
		e.bad(field, "%s, must be at least %s", d, min)
	}
}

func def[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Outbox is the "outbox:" section (package outbox's Limits and Options).
type Outbox struct {
	Path          string        `yaml:"path"`            // default STATE_DIR/outbox.db
	MaxBytes      int64         `yaml:"max_bytes"`       // default 256 MiB
	MaxPayload    int           `yaml:"max_payload"`     // default 256 KiB
	SummaryMaxAge time.Duration `yaml:"summary_max_age"` // default never (-1s)
	EventMaxAge   time.Duration `yaml:"event_max_age"`   // default 720h
	HealthMaxAge  time.Duration `yaml:"health_max_age"`  // default 1h
	AtBound       string        `yaml:"at_bound"`        // refuse-new (default) or drop-oldest
	MaxQuarantine int           `yaml:"max_quarantine"`  // default 1000
}

// WithDefaults fills o's zero fields; stateDir places the file.
func (o Outbox) WithDefaults(stateDir string) Outbox {
	def(&o.Path, filepath.Join(stateDir, "outbox.db"))
	def(&o.MaxBytes, 256<<20)
	def(&o.MaxPayload, 256<<10)
	def(&o.SummaryMaxAge, -time.Second)
	def(&o.EventMaxAge, 30*24*time.Hour)
	def(&o.HealthMaxAge, time.Hour)
	def(&o.AtBound, outbox.RefuseNew.String())
	def(&o.MaxQuarantine, 1000)
	return o
}

// Validate checks o after WithDefaults.
func (o Outbox) Validate() error {
	e := errs{section: "outbox"}
	e.abs("path", o.Path, false)
	if o.MaxBytes < 1<<20 {
		e.bad("max_bytes", "%d, must be at least 1 MiB", o.MaxBytes)
	}
	if o.MaxPayload < 1024 || int64(o.MaxPayload)*4 > o.MaxBytes {
		e.bad("max_payload", "%d, must be at least 1024 and at most a quarter of max_bytes", o.MaxPayload)
	}
	if o.AtBound != outbox.RefuseNew.String() && o.AtBound != outbox.DropOldest.String() {
		e.bad("at_bound", "%q, want %s or %s", o.AtBound, outbox.RefuseNew, outbox.DropOldest)
	}
	if o.MaxQuarantine < 1 {
		e.bad("max_quarantine", "%d, must be positive", o.MaxQuarantine)
	}
	return e.err()
}

// Options returns the outbox.Options of o (clock and logger left to the caller).
func (o Outbox) Options() outbox.Options {
	p := outbox.RefuseNew
	if o.AtBound == outbox.DropOldest.String() {
		p = outbox.DropOldest
	}
	return outbox.Options{Limits: outbox.Limits{MaxBytes: o.MaxBytes, MaxPayload: o.MaxPayload, SummaryMaxAge: o.SummaryMaxAge,
		EventMaxAge: o.EventMaxAge, HealthMaxAge: o.HealthMaxAge, AtBound: p, MaxQuarantine: o.MaxQuarantine}}
}

// Secret names where a secret comes from: a file (0600) or a systemd
// credential. Never the command line, never the config file itself.
type Secret struct {
	File       string `yaml:"file"`       // path of a 0600 file
	Credential string `yaml:"credential"` // name under $CREDENTIALS_DIRECTORY
}

// CredentialEnv is the variable systemd sets to the credentials directory.
const CredentialEnv = "CREDENTIALS_DIRECTORY"

// Path resolves s to a file: File, else $CREDENTIALS_DIRECTORY/Credential.
func (s Secret) Path() (string, error) {
	if s.File != "" {
		return s.File, nil
	}
	dir := os.Getenv(CredentialEnv)
	if dir == "" {
		return "", fmt.Errorf("systemd credential %q: $%s is not set (no LoadCredential= in the unit?)", s.Credential, CredentialEnv)
	}
	return filepath.Join(dir, s.Credential), nil
}

func (e *errs) secret(field string, s Secret, required bool) {
	switch {
	case s.File != "" && s.Credential != "":
		e.bad(field, "set file or credential, not both")
	case s.File == "" && s.Credential == "" && required:
		e.bad(field, "need a file or a systemd credential")
	case s.File != "":
		e.abs(field+".file", s.File, false)
	case s.Credential != "" && strings.ContainsAny(s.Credential, "/\x00") || s.Credential == "." || s.Credential == "..":
		e.bad(field+".credential", "%q is not a credential name", s.Credential)
	}
}

// Gallery is the "gallery:" section: the store, the trusted signing keys
// and the nightly sync.
type Gallery struct {
	DB string `yaml:"db"` // default STATE_DIR/gallery.db
	// Key is the at-rest key; default the systemd credential "gallery-key".
	Key    Secret        `yaml:"key"`
	Trust  []string      `yaml:"trust"`   // signing public keys; default [/etc/laned/gallery-signing.pub]
	MaxAge time.Duration `yaml:"max_age"` // older than this (since created) is degraded; default 72h
	Sync   Sync          `yaml:"sync"`
}

// Sync is "gallery.sync:": where and when the nightly pull runs.
type Sync struct {
	URL            string        `yaml:"url"`   // https://...; empty: no nightly sync
	State          string        `yaml:"state"` // default STATE_DIR/gallery-sync
	CA             string        `yaml:"ca"`
	Cert           string        `yaml:"cert"`
	Key            string        `yaml:"key"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"` // default 30s
	Timeout        time.Duration `yaml:"timeout"`         // default 30m
	WindowStart    time.Duration `yaml:"window_start"`    // after local midnight; default 2h
	WindowLength   time.Duration `yaml:"window_length"`   // default 3h
	Retry          time.Duration `yaml:"retry"`           // default 15m
	TimeZone       string        `yaml:"time_zone"`       // IANA name; default Local
}

// DefaultTrust is the signing key a lane trusts by default.
const DefaultTrust = "/etc/laned/gallery-signing.pub"

func (g Gallery) WithDefaults(stateDir string) Gallery {
	def(&g.DB, filepath.Join(stateDir, "gallery.db"))
	if g.Key == (Secret{}) {
		g.Key.Credential = "gallery-key"
	}
	if len(g.Trust) == 0 {
		g.Trust = []string{DefaultTrust}
	}
	def(&g.MaxAge, 72*time.Hour)
	s := &g.Sync
	def(&s.State, filepath.Join(stateDir, "gallery-sync"))
	def(&s.ConnectTimeout, 30*time.Second)
	def(&s.Timeout, 30*time.Minute)
	def(&s.WindowStart, 2*time.Hour)
	def(&s.WindowLength, 3*time.Hour)
	def(&s.Retry, 15*time.Minute)
	def(&s.TimeZone, "Local")
	return g
}

func (g Gallery) Validate() error {
	e := errs{section: "gallery"}
	e.abs("db", g.DB, false)
	e.secret("key", g.Key, true)
	for i, t := range g.Trust {
		e.abs(fmt.Sprintf("trust[%d]", i), t, false)
	}
	e.atLeast("max_age", g.MaxAge, time.Minute)
	s := g.Sync
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			e.bad("sync.url", "%v", err)
		case u.Scheme != "https" || u.Host == "":
			e.bad("sync.url", "%q: want https://host/path", s.URL)
		}
	}
	e.abs("sync.state", s.State, false)
	e.abs("sync.ca", s.CA, true)
	e.abs("sync.cert", s.Cert, true)
	e.abs("sync.key", s.Key, true)
	if (s.Cert == "") != (s.Key == "") {
		e.bad("sync.cert", "sync.cert and sync.key go together")
	}
	e.atLeast("sync.connect_timeout", s.ConnectTimeout, time.Second)
	e.atLeast("sync.timeout", s.Timeout, s.ConnectTimeout)
	if s.WindowStart < 0 || s.WindowStart >= 24*time.Hour {
		e.bad("sync.window_start", "%s, must be in [0, 24h)", s.WindowStart)
	}
	if s.WindowLength < time.Minute || s.WindowLength > 24*time.Hour {
		e.bad("sync.window_length", "%s, must be in [1m, 24h]", s.WindowLength)
	}
	e.atLeast("sync.retry", s.Retry, time.Second)
	if _, err := g.Location(); err != nil {
		e.bad("sync.time_zone", "%v", err)
	}
	return e.err()
}

// Location is the sync window's time zone.
func (g Gallery) Location() (*time.Location, error) {
	if g.Sync.TimeZone == "" || g.Sync.TimeZone == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(g.Sync.TimeZone)
}

// CheckFiles checks that the gallery's files exist.
func (g Gallery) CheckFiles() error {
	var list []error
	paths := map[string]string{}
	for i, t := range g.Trust {
		paths[fmt.Sprintf("gallery.trust[%d]", i)] = t
	}
	for k, v := range map[string]string{"gallery.sync.ca": g.Sync.CA, "gallery.sync.cert": g.Sync.Cert, "gallery.sync.key": g.Sync.Key} {
		if v != "" {
			paths[k] = v
		}
	}
	if p, err := g.Key.Path(); err != nil {
		list = append(list, fmt.Errorf("gallery.key: %w", err))
	} else {
		paths["gallery.key"] = p
	}
	for k, p := range paths {
		if _, err := os.Stat(p); err != nil {
			list = append(list, fmt.Errorf("%s: %w", k, err))
		}
	}
	return errors.Join(list...)
}

// Health is the "health:" section (package health's Options).
type Health struct {
	Interval    time.Duration `yaml:"interval"`      // between health reports; default 60s; negative: none
	DiskMinFree int64         `yaml:"disk_min_free"` // bytes; default 512 MiB
	Thermal     string        `yaml:"thermal"`       // millidegree file; default /sys/class/thermal/thermal_zone0/temp; "none": off
	TempMax     float64       `yaml:"temp_max"`      // °C; default 85
	UplinkGrace time.Duration `yaml:"uplink_grace"`  // default 2m
}

func (h Health) WithDefaults() Health {
	def(&h.Interval, time.Minute)
	def(&h.DiskMinFree, 512<<20)
	def(&h.Thermal, "/sys/class/thermal/thermal_zone0/temp")
	def(&h.TempMax, 85)
	def(&h.UplinkGrace, 2*time.Minute)
	return h
}

func (h Health) Validate() error {
	e := errs{section: "health"}
	if h.Interval >= 0 && h.Interval < time.Second {
		e.bad("interval", "%s, must be at least 1s (or negative for no reports)", h.Interval)
	}
	if h.DiskMinFree < 0 {
		e.bad("disk_min_free", "%d is negative", h.DiskMinFree)
	}
	if h.Thermal != "none" {
		e.abs("thermal", h.Thermal, false)
	}
	if math.IsNaN(h.TempMax) || h.TempMax < 20 || h.TempMax > 150 {
		e.bad("temp_max", "%v, must be 20..150 °C", h.TempMax)
	}
	e.atLeast("uplink_grace", h.UplinkGrace, 0)
	return e.err()
}

// ThermalPath is Thermal, "" when off.
func (h Health) ThermalPath() string {
	if h.Thermal == "none" {
		return ""
	}
	return h.Thermal
}

// Events is the "events:" section (package events' Options).
type Events struct {
	FlapWindow time.Duration `yaml:"flap_window"` // default 5m
	Burst      int           `yaml:"burst"`       // default 20
	Refill     time.Duration `yaml:"refill"`      // default 30s
}

func (v Events) WithDefaults() Events {
	def(&v.FlapWindow, 5*time.Minute)
	def(&v.Burst, 20)
	def(&v.Refill, 30*time.Second)
	return v
}

func (v Events) Validate() error {
	e := errs{section: "events"}
	e.atLeast("flap_window", v.FlapWindow, time.Second)
	if v.Burst < 1 || v.Burst > 10000 {
		e.bad("burst", "%d, must be 1..10000", v.Burst)
	}
	e.atLeast("refill", v.Refill, time.Millisecond)
	return e.err()
}

// LocalAPI is the "localapi:" section: the daemon's Unix socket.
type LocalAPI struct {
	Socket string `yaml:"socket"` // default /run/laned/laned.sock
	// Group may connect (the socket is mode 0660); default "laned"; ""
	// after defaults never: use the daemon's own group with "-".
	Group string `yaml:"group"`
}

// DefaultSocket is the local API's socket.
const DefaultSocket = "/run/laned/laned.sock"

func (l LocalAPI) WithDefaults() LocalAPI {
	def(&l.Socket, DefaultSocket)
	def(&l.Group, "laned")
	return l
}

func (l LocalAPI) Validate() error {
	e := errs{section: "localapi"}
	e.abs("socket", l.Socket, false)
	if len(l.Socket) > 107 {
		e.bad("socket", "%d bytes, a Unix socket path holds at most 107", len(l.Socket))
	}
	if l.Group == "" || strings.ContainsAny(l.Group, ":/\n ") {
		e.bad("group", "%q is not a group name (or - for the daemon's own)", l.Group)
	}
	return e.err()
}
