package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/sensor"
	"github.com/laned/laned/internal/trigger"
	"github.com/laned/laned/internal/uplink"
)

// Config is the whole configuration file.
type Config struct {
	// Site and Lane name the lane: in every payload and topic.
	Site string `yaml:"site"`
	Lane string `yaml:"lane"`
	// StateDir holds the outbox, the gallery store and the sync state
	// unless their paths are set. Default /var/lib/laned.
	StateDir string `yaml:"state_dir"`

	Uplink   uplink.Config `yaml:"uplink"`
	Outbox   Outbox        `yaml:"outbox"`
	Gallery  Gallery       `yaml:"gallery"`
	Health   Health        `yaml:"health"`
	Events   Events        `yaml:"events"`
	LocalAPI LocalAPI      `yaml:"localapi"`
	Vision   Vision        `yaml:"vision"`

	Console Console `yaml:"console"` // technician console: console.go
	// The lane (lane.go): cameras, presence sensors, video triggers, the
	// transaction engine, recorded inputs, metrics.
	Cameras  []camera.Config  `yaml:"cameras"`
	Sensors  sensor.Config    `yaml:"sensors"`
	Triggers []trigger.Config `yaml:"triggers"`
	Engine   lane.Config      `yaml:"transactions"`
	Replay   Replay           `yaml:"replay"`
	Metrics  Metrics          `yaml:"metrics"`
}

// DefaultStateDir is where laned keeps its files.
const DefaultStateDir = "/var/lib/laned"

// MaxFileSize bounds a config file.
const MaxFileSize = 1 << 20

// Load reads, parses, fills defaults and validates the file at path. It
// refuses a path that is not a regular file before opening it (a FIFO
// would block).
func Load(path string) (Config, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Config{}, fmt.Errorf("config: %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Config{}, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return Config{}, fmt.Errorf("config: %s is over %d bytes", path, MaxFileSize)
	}
	c, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses YAML strictly, fills defaults and validates.
func Parse(b []byte) (Config, error) {
	c, err := Decode(b)
	if err != nil {
		return Config{}, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Decode parses YAML strictly without defaults or validation.
func Decode(b []byte) (Config, error) {
	var c Config
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if len(doc.Content) == 0 { // empty file: all defaults
		return c, nil
	}
	lines := map[int]string{}
	if err := strict(doc.Content[0], typeOf(c), "", lines); err != nil {
		return Config{}, err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", withPaths(err, lines))
	}
	return c, nil
}

// WithDefaults returns c with every zero field set to its default,
// section by section and field by field.
func (c Config) WithDefaults() Config {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	c.Uplink.Site, c.Uplink.Lane = c.Site, c.Lane
	c.Uplink = c.Uplink.WithDefaults()
	c.Outbox = c.Outbox.WithDefaults(c.StateDir)
	c.Gallery = c.Gallery.WithDefaults(c.StateDir)
	c.Health = c.Health.WithDefaults()
	c.Events = c.Events.WithDefaults()
	c.LocalAPI = c.LocalAPI.WithDefaults()
	c.Vision = c.Vision.WithDefaults()
	c.Console = c.Console.WithDefaults(c.LocalAPI.Socket)
	return c.laneDefaults()
}

var reName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks c after WithDefaults. It reads no file. Errors name the
// key path.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"site", c.Site}, {"lane", c.Lane}} {
		if !reName.MatchString(f.v) {
			errs = append(errs, fmt.Errorf("%s: %q must match %s (it names the lane in topics and payloads)", f.name, f.v, reName))
		}
	}
	if !filepath.IsAbs(c.StateDir) {
		errs = append(errs, fmt.Errorf("state_dir: %q is not an absolute path", c.StateDir))
	}
	for _, err := range []error{
		uplinkValidate(c.Uplink, c.Site == "" || c.Lane == ""),
		c.Outbox.Validate(),
		c.Gallery.Validate(),
		c.Health.Validate(),
		c.Events.Validate(),
		c.LocalAPI.Validate(),
		c.Vision.Validate(),
		c.Console.Validate(),
		c.laneValidate(),
		c.Metrics.Validate(),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// uplinkValidate leaves out the uplink's errors about site and lane,
// which are top-level keys here and checked above (and about the client id
// made of them when they are missing).
func uplinkValidate(u uplink.Config, noIdentity bool) error {
	err := u.Validate()
	if err == nil {
		return nil
	}
	var keep []error
	for _, e := range unjoin(err) {
		m := e.Error()
		if strings.HasPrefix(m, "uplink.site:") || strings.HasPrefix(m, "uplink.lane:") ||
			(noIdentity && strings.HasPrefix(m, "uplink.client_id:")) {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// CheckFiles checks that the files the configuration names exist (for
// `laned check`, not Validate).
func (c Config) CheckFiles() error {
	var errs []error
	if err := c.Uplink.CheckFiles(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Gallery.CheckFiles(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
