package sensor

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Config is the sensors: section of laned's configuration.
type Config struct {
	// Board names a board profile in firmware-config/boards/ whose inputs
	// and outputs apply first; entries here with the same name replace
	// them.
	Board   string         `yaml:"board,omitempty"`
	Inputs  []InputConfig  `yaml:"inputs,omitempty"`
	Outputs []OutputConfig `yaml:"outputs,omitempty"`

	// Key is the config path used in errors ("sensors").
	Key string `yaml:"-"`
}

// Roles of inputs.
const (
	RoleArrival   = "arrival"   // first loop a vehicle crosses
	RoleDeparture = "departure" // last loop
	RoleCurtain   = "curtain"   // light curtain at the capture point
	RolePresence  = "presence"  // any other presence input
)

// InputConfig is one presence input.
type InputConfig struct {
	Name string `yaml:"name"`
	Role string `yaml:"role,omitempty"`
	// Chip is the GPIO chip by name (gpiochip0) or label
	// (pinctrl-bcm2711); Line its line offset.
	Chip string `yaml:"chip"`
	Line int    `yaml:"line"`
	// Active is the level that means "vehicle present": high or low
	// (a relay contact to ground with a pull-up is low).
	Active string `yaml:"active,omitempty"`
	// Pull is up, down or none (the board's resistor is used).
	Pull string `yaml:"pull,omitempty"`
	// Debounce: a level must hold this long to count.
	Debounce time.Duration `yaml:"debounce,omitempty"`
	// MaxPresence: active longer than this is a stuck-on fault.
	MaxPresence time.Duration `yaml:"max_presence,omitempty"`
	// ChatterEdges: more raw edges than this within one second is
	// chatter; it clears after a second with at most a quarter of them.
	ChatterEdges int `yaml:"chatter_edges,omitempty"`
	// StuckOffAfter: this many vehicles seen by the video trigger without
	// this input going active is a stuck-off fault (0: never).
	StuckOffAfter int `yaml:"stuck_off_after,omitempty"`
}

// OutputConfig is one optional output.
type OutputConfig struct {
	Name   string `yaml:"name"`
	Role   string `yaml:"role,omitempty"` // strobe or status
	Chip   string `yaml:"chip"`
	Line   int    `yaml:"line"`
	Active string `yaml:"active,omitempty"`
}

// Defaults applied by WithDefaults.
const (
	DefaultDebounce      = 30 * time.Millisecond
	DefaultMaxPresence   = 2 * time.Minute
	DefaultChatterEdges  = 100
	DefaultStuckOffAfter = 3
)

// WithDefaults fills every zero field that has a default.
func (c Config) WithDefaults() Config {
	if c.Key == "" {
		c.Key = "sensors"
	}
	in := make([]InputConfig, len(c.Inputs))
	for i, x := range c.Inputs {
		if x.Role == "" {
			x.Role = RolePresence
		}
		if x.Active == "" {
			x.Active = "high"
		}
		if x.Pull == "" {
			x.Pull = "none"
		}
		if x.Debounce == 0 {
			x.Debounce = DefaultDebounce
		}
		if x.MaxPresence == 0 {
			x.MaxPresence = DefaultMaxPresence
		}
		if x.ChatterEdges == 0 {
			x.ChatterEdges = DefaultChatterEdges
		}
		if x.StuckOffAfter == 0 && (x.Role == RoleArrival || x.Role == RoleDeparture) {
			x.StuckOffAfter = DefaultStuckOffAfter
		}
		in[i] = x
	}
	c.Inputs = in
	out := make([]OutputConfig, len(c.Outputs))
	for i, o := range c.Outputs {
		if o.Active == "" {
			o.Active = "high"
		}
		out[i] = o
	}
	c.Outputs = out
	return c
}

// FieldError is a configuration error at one key of one input or output.
type FieldError struct {
	Key    string // sensors.inputs[2].line
	Input  string // the input's or output's name
	Device string // gpiochip0 line 17
	Msg    string
	Err    error // the cause, if any (ErrNoChip, ErrNoLine)
}

func (e *FieldError) Unwrap() error { return e.Err }

func (e *FieldError) Error() string {
	who := ""
	switch {
	case e.Input != "" && e.Device != "":
		who = fmt.Sprintf("%q (%s) ", e.Input, e.Device)
	case e.Input != "":
		who = fmt.Sprintf("%q ", e.Input)
	case e.Device != "":
		who = fmt.Sprintf("(%s) ", e.Device)
	}
	return fmt.Sprintf("%s: %s%s", e.Key, who, e.Msg)
}

func device(chip string, line int) string { return fmt.Sprintf("%s line %d", chip, line) }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks c (after WithDefaults) without touching hardware.
func (c Config) Validate() error {
	var errs []error
	key := c.Key
	if key == "" {
		key = "sensors"
	}
	names := map[string]string{}
	lines := map[string]string{}
	check := func(k, name, chip string, line int, active string) {
		dev := device(chip, line)
		bad := func(sub, format string, a ...any) {
			errs = append(errs, &FieldError{Key: k + "." + sub, Input: name, Device: dev, Msg: fmt.Sprintf(format, a...)})
		}
		if !nameRE.MatchString(name) {
			bad("name", "name %q: want 1-32 of a-z 0-9 _ -", name)
		}
		if prev, dup := names[name]; dup {
			bad("name", "duplicate name; %s is also %q", prev, name)
		} else {
			names[name] = k
		}
		if chip == "" {
			bad("chip", "no GPIO chip")
		}
		if line < 0 || line > 1023 {
			bad("line", "line %d out of range 0..1023", line)
		}
		if prev, dup := lines[dev]; dup && chip != "" {
			bad("line", "same line as %s", prev)
		} else {
			lines[dev] = k
		}
		if active != "high" && active != "low" {
			bad("active", "active %q: want high or low", active)
		}
	}
	for i, in := range c.Inputs {
		k := fmt.Sprintf("%s.inputs[%d]", key, i)
		check(k, in.Name, in.Chip, in.Line, in.Active)
		bad := func(sub, format string, a ...any) {
			errs = append(errs, &FieldError{Key: k + "." + sub, Input: in.Name, Device: device(in.Chip, in.Line), Msg: fmt.Sprintf(format, a...)})
		}
		switch in.Role {
		case RoleArrival, RoleDeparture, RoleCurtain, RolePresence:
		default:
			bad("role", "role %q: want arrival, departure, curtain or presence", in.Role)
		}
		if _, err := parsePull(in.Pull); err != nil {
			bad("pull", "%v", err)
		}
		if in.Debounce < time.Millisecond || in.Debounce > time.Second {
			bad("debounce", "debounce %v out of range 1ms..1s", in.Debounce)
		}
		if in.MaxPresence < time.Second {
			bad("max_presence", "max_presence %v shorter than 1s", in.MaxPresence)
		}
		if in.ChatterEdges < 4 {
			bad("chatter_edges", "chatter_edges %d below 4", in.ChatterEdges)
		}
		if in.StuckOffAfter < 0 {
			bad("stuck_off_after", "negative")
		}
	}
	roles := map[string]int{}
	for _, in := range c.Inputs {
		roles[in.Role]++
	}
	for _, r := range []string{RoleArrival, RoleDeparture} {
		if roles[r] > 1 {
			errs = append(errs, &FieldError{Key: key + ".inputs", Msg: fmt.Sprintf("%d inputs with role %s; at most one", roles[r], r)})
		}
	}
	for i, o := range c.Outputs {
		k := fmt.Sprintf("%s.outputs[%d]", key, i)
		check(k, o.Name, o.Chip, o.Line, o.Active)
		if o.Role != "strobe" && o.Role != "status" {
			errs = append(errs, &FieldError{Key: k + ".role", Input: o.Name, Device: device(o.Chip, o.Line), Msg: fmt.Sprintf("role %q: want strobe or status", o.Role)})
		}
	}
	return errors.Join(errs...)
}

func parsePull(s string) (gpio.Pull, error) {
	switch s {
	case "up":
		return gpio.PullUp, nil
	case "down":
		return gpio.PullDown, nil
	case "none", "":
		return gpio.PullNoChange, nil
	case "float":
		return gpio.Float, nil
	}
	return gpio.PullNoChange, fmt.Errorf("pull %q: want up, down, float or none", s)
}
