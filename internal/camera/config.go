package camera

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config is one camera's section of laned's configuration
// (cameras: [ … ]). Exactly one of Device and Replay is set.
type Config struct {
	// Name identifies the camera everywhere ("front", "side").
	Name string `yaml:"name"`
	// Device is a V4L2 node: /dev/videoN or, better, a stable
	// /dev/v4l/by-id/… link, re-resolved on every reopen.
	Device string `yaml:"device,omitempty"`
	// Replay is a directory of recorded frames (JPEG/PNG, name order) to
	// play instead of a device.
	Replay string `yaml:"replay,omitempty"`
	// Format is MJPEG or YUYV; empty prefers MJPEG and falls back to YUYV.
	Format string `yaml:"format,omitempty"`
	// Width, Height and FPS requested from the driver (replay: FPS sets
	// the frame spacing; the size comes from the files).
	Width  int     `yaml:"width,omitempty"`
	Height int     `yaml:"height,omitempty"`
	FPS    float64 `yaml:"fps,omitempty"`
	// Profile names a camera profile in firmware-config/cameras/ whose
	// controls apply first; Controls then override them.
	Profile  string           `yaml:"profile,omitempty"`
	Controls map[string]int32 `yaml:"controls,omitempty"`
	// Ring is how many decoded frames wait for the consumer before the
	// oldest is dropped.
	Ring int `yaml:"ring,omitempty"`
	// StallFrames: no frame for this many frame intervals is a stall.
	StallFrames int `yaml:"stall_frames,omitempty"`
	// ReopenAfter: a stall this long closes and reopens the device.
	ReopenAfter time.Duration `yaml:"reopen_after,omitempty"`
	// MaxBackoff caps the wait between reopen attempts after an unplug.
	MaxBackoff time.Duration `yaml:"max_backoff,omitempty"`
	// RealTime paces a replay at FPS on the clock; otherwise frames are
	// stamped i×1000/fps ms after the start and delivered as fast as the
	// consumer takes them (no drops).
	RealTime bool `yaml:"real_time,omitempty"`

	// Key is the config path used in error messages ("cameras[1]"); the
	// composer of the configuration sets it, ValidateAll does too.
	Key string `yaml:"-"`
}

// Defaults applied by WithDefaults to fields left zero.
const (
	DefaultWidth       = 1280
	DefaultHeight      = 720
	DefaultFPS         = 30
	DefaultRing        = 4
	DefaultStallFrames = 3
	DefaultReopenAfter = 3 * time.Second
	DefaultMaxBackoff  = 500 * time.Millisecond
)

// WithDefaults returns c with every zero field that has a default filled
// in; fields already set are kept.
func (c Config) WithDefaults() Config {
	if c.Replay == "" {
		if c.Width == 0 {
			c.Width = DefaultWidth
		}
		if c.Height == 0 {
			c.Height = DefaultHeight
		}
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.Ring == 0 {
		c.Ring = DefaultRing
	}
	if c.StallFrames == 0 {
		c.StallFrames = DefaultStallFrames
	}
	if c.ReopenAfter == 0 {
		c.ReopenAfter = DefaultReopenAfter
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Key == "" {
		c.Key = "camera"
	}
	return c
}

// FieldError is a configuration error at one key of one camera.
type FieldError struct {
	Key    string // full key path: cameras[1].format
	Camera string // camera name, may be empty
	Device string // device or replay path, may be empty
	Msg    string
}

func (e *FieldError) Error() string {
	var who string
	switch {
	case e.Camera != "" && e.Device != "":
		who = fmt.Sprintf("camera %q (%s) ", e.Camera, e.Device)
	case e.Camera != "":
		who = fmt.Sprintf("camera %q ", e.Camera)
	case e.Device != "":
		who = fmt.Sprintf("camera %s ", e.Device)
	}
	return fmt.Sprintf("%s: %s%s", e.Key, who, e.Msg)
}

func (c *Config) where() string {
	if c.Device != "" {
		return c.Device
	}
	return c.Replay
}

func (c *Config) errf(key, format string, a ...any) error {
	k := c.Key
	if k == "" {
		k = "camera"
	}
	return &FieldError{Key: k + "." + key, Camera: c.Name, Device: c.where(), Msg: fmt.Sprintf(format, a...)}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks c (after WithDefaults) without touching any device or
// file; every error names the key and the camera.
func (c Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if !nameRE.MatchString(c.Name) {
		add(c.errf("name", "name %q: want 1-32 of a-z 0-9 _ -, starting with a letter or digit", c.Name))
	}
	switch {
	case c.Device == "" && c.Replay == "":
		add(c.errf("device", "needs a device (/dev/v4l/by-id/…) or a replay directory"))
	case c.Device != "" && c.Replay != "":
		add(c.errf("replay", "has both a device and a replay directory; choose one"))
	case c.Device != "" && !strings.HasPrefix(filepath.Clean(c.Device), "/dev/"):
		add(c.errf("device", "device %q is not under /dev", c.Device))
	}
	if c.Format != "" {
		if _, err := ParseFormat(c.Format); err != nil {
			add(c.errf("format", "%v", err))
		}
	}
	if c.Replay == "" {
		if c.Width < 16 || c.Width > 7680 || c.Height < 16 || c.Height > 4320 {
			add(c.errf("width", "size %dx%d out of range 16x16..7680x4320", c.Width, c.Height))
		}
	}
	if c.FPS < 1 || c.FPS > 240 {
		add(c.errf("fps", "fps %g out of range 1..240", c.FPS))
	}
	if c.Ring < 1 || c.Ring > 64 {
		add(c.errf("ring", "ring %d out of range 1..64", c.Ring))
	}
	if c.StallFrames < 1 {
		add(c.errf("stall_frames", "stall_frames %d must be at least 1", c.StallFrames))
	}
	if c.ReopenAfter < 0 || c.MaxBackoff < 0 {
		add(c.errf("reopen_after", "negative durations"))
	}
	for name := range c.Controls {
		if _, ok := controlByName[name]; !ok {
			add(c.errf("controls."+name, "unknown control %q (known: %s)", name, strings.Join(ControlNames(), ", ")))
		}
	}
	if c.Profile != "" && !nameRE.MatchString(c.Profile) {
		add(c.errf("profile", "profile name %q is not a file name", c.Profile))
	}
	return errors.Join(errs...)
}

// ValidateAll sets each camera's Key to cameras[i], fills defaults and
// validates every camera and the set (unique names and devices). It
// returns the completed configs.
func ValidateAll(cs []Config) ([]Config, error) {
	out := make([]Config, len(cs))
	var errs []error
	names := map[string]int{}
	devs := map[string]int{}
	for i, c := range cs {
		c.Key = fmt.Sprintf("cameras[%d]", i)
		c = c.WithDefaults()
		out[i] = c
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
		if j, dup := names[c.Name]; dup && c.Name != "" {
			errs = append(errs, c.errf("name", "duplicate name; cameras[%d] is also %q", j, c.Name))
		}
		names[c.Name] = i
		if w := c.where(); w != "" {
			if j, dup := devs[w]; dup {
				errs = append(errs, c.errf("device", "same device as cameras[%d]", j))
			}
			devs[w] = i
		}
	}
	return out, errors.Join(errs...)
}

// Interval is the frame spacing at the configured rate.
func (c *Config) Interval() time.Duration {
	if c.FPS <= 0 {
		return time.Second / DefaultFPS
	}
	return time.Duration(float64(time.Second) / c.FPS)
}
