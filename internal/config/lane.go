package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/laned/laned/internal/camera"
	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/trigger"
)

// The lane's sections: cameras (package camera's Config), sensors
// (package sensor's), triggers (package trigger's video triggers), lane
// (package lane's engine), replay (recorded inputs instead of hardware)
// and metrics. A configuration without cameras runs no lane: the daemon
// then serves the gallery, the outbox and the uplink only.

// Replay is the "replay:" section: recorded inputs in place of hardware,
// for the lab and the demo (cameras take recorded frames by their own
// replay: key).
type Replay struct {
	// Sensors is a sensors.csv (t_ms,input,level) played instead of the
	// GPIO inputs, t_ms counted from the daemon's start.
	Sensors string `yaml:"sensors"`
}

// Metrics is the "metrics:" section.
type Metrics struct {
	// Address is the local address of the Prometheus endpoint
	// (/metrics); "off": none.
	Address string `yaml:"address"`
}

// DefaultMetricsAddress serves metrics on the loopback only.
const DefaultMetricsAddress = "127.0.0.1:9464"

func (m Metrics) WithDefaults() Metrics {
	def(&m.Address, DefaultMetricsAddress)
	return m
}

func (m Metrics) Validate() error {
	e := errs{section: "metrics"}
	if m.Address != "off" {
		if _, _, err := net.SplitHostPort(m.Address); err != nil {
			e.bad("address", "%q: %v (host:port, or off)", m.Address, err)
		}
	}
	return e.err()
}

// HasLane reports whether the configuration runs a lane (it has cameras).
func (c Config) HasLane() bool { return len(c.Cameras) > 0 }

// laneDefaults fills the lane's sections: the lane's cameras default to
// one whole-frame zone per configured camera, and a lane without loop
// inputs (no sensors, no replayed sensors) takes presence from the video
// trigger, by default one over the first camera's whole frame.
func (c Config) laneDefaults() Config {
	for i := range c.Cameras {
		c.Cameras[i].Key = fmt.Sprintf("cameras[%d]", i)
		c.Cameras[i] = c.Cameras[i].WithDefaults()
	}
	if c.Sensors.Key == "" {
		c.Sensors.Key = "sensors"
	}
	c.Sensors = c.Sensors.WithDefaults()
	if len(c.Cameras) > 0 {
		if len(c.Engine.Cameras) == 0 {
			for _, cc := range c.Cameras {
				c.Engine.Cameras = append(c.Engine.Cameras, lane.CameraConfig{Name: cc.Name})
			}
		}
	}
	if c.Engine.Trigger == "" && len(c.Sensors.Inputs) == 0 && c.Sensors.Board == "" && c.Replay.Sensors == "" {
		c.Engine.Trigger = lane.TriggerVideo
	}
	c.Engine = c.Engine.WithDefaults()
	if len(c.Cameras) > 0 && len(c.Triggers) == 0 {
		c.Triggers = []trigger.Config{{Name: c.Engine.VideoInput, Camera: c.Cameras[0].Name}}
	}
	for i := range c.Triggers {
		c.Triggers[i].Key = fmt.Sprintf("triggers[%d]", i)
		c.Triggers[i] = c.Triggers[i].WithDefaults()
	}
	c.Metrics = c.Metrics.WithDefaults()
	// Empty lists are nil, however they were written.
	if len(c.Cameras) == 0 {
		c.Cameras = nil
	}
	if len(c.Triggers) == 0 {
		c.Triggers = nil
	}
	if len(c.Sensors.Inputs) == 0 {
		c.Sensors.Inputs = nil
	}
	if len(c.Sensors.Outputs) == 0 {
		c.Sensors.Outputs = nil
	}
	if len(c.Engine.Cameras) == 0 {
		c.Engine.Cameras = nil
	}
	return c
}

// laneValidate checks the lane's sections together: every lane camera and
// trigger camera is a configured camera, triggers report the lane's video
// input.
func (c Config) laneValidate() error {
	var errs []error
	// The transactions: section is checked with or without cameras; only
	// its "no camera" complaint waits for a lane that has cameras.
	if err := c.Engine.Validate(); err != nil {
		// package lane names its keys lane.…; here they live under transactions:
		for _, e := range unjoin(err) {
			m := e.Error()
			if !c.HasLane() && strings.HasPrefix(m, "lane.cameras: none") {
				continue
			}
			errs = append(errs, errors.New("transactions."+strings.TrimPrefix(m, "lane.")))
		}
	}
	if err := c.Sensors.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, tc := range c.Triggers {
		if err := tc.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Replay.Sensors != "" && (len(c.Sensors.Inputs) > 0 || c.Sensors.Board != "") {
		errs = append(errs, errors.New("replay.sensors: set together with sensors.inputs/board; replay one or the other"))
	}
	if !c.HasLane() {
		if len(c.Engine.Cameras) > 0 || len(c.Triggers) > 0 {
			errs = append(errs, errors.New("cameras: none configured, but transactions.cameras or triggers name cameras"))
		}
		return errors.Join(errs...)
	}
	if _, err := camera.ValidateAll(c.Cameras); err != nil {
		errs = append(errs, err)
	}
	names := map[string]bool{}
	for _, cc := range c.Cameras {
		names[cc.Name] = true
	}
	for i, lc := range c.Engine.Cameras {
		if !names[lc.Name] {
			errs = append(errs, fmt.Errorf("transactions.cameras[%d].name: %q is not one of cameras[].name", i, lc.Name))
		}
	}
	for i, tc := range c.Triggers {
		if !names[tc.Camera] {
			errs = append(errs, fmt.Errorf("triggers[%d].camera: %q is not one of cameras[].name", i, tc.Camera))
		}
		if tc.Name != c.Engine.VideoInput {
			errs = append(errs, fmt.Errorf("triggers[%d].name: %q, but transactions.video_input is %q", i, tc.Name, c.Engine.VideoInput))
		}
	}
	return errors.Join(errs...)
}

// LaneTimeout is how long the daemon lets the lane finish its open
// transaction at shutdown beyond the lane's own shutdown_timeout.
const LaneTimeout = 5 * time.Second
