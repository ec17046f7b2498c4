package lane_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/lane"
	"github.com/laned/laned/internal/lane/lanetest"
)

func validCfg() lane.Config {
	return lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}}}.WithDefaults()
}

// TestWithDefaultsPerField: setting any one field leaves every other at its
// default.
func TestWithDefaultsPerField(t *testing.T) {
	def := validCfg()
	v := reflect.ValueOf(def)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Name == "Cameras" || f.Name == "Evidence" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			c := lane.Config{Cameras: []lane.CameraConfig{{Name: "front"}}}
			fv := reflect.ValueOf(&c).Elem().Field(i)
			switch fv.Kind() {
			case reflect.String:
				v, ok := map[string]string{"Trigger": "video", "Fusion": "vote"}[f.Name]
				if !ok {
					v = "custom"
				}
				fv.SetString(v)
			case reflect.Int64:
				fv.SetInt(int64(123 * time.Millisecond))
			case reflect.Float64:
				fv.SetFloat(0.5)
			case reflect.Int:
				fv.SetInt(4)
			}
			got := reflect.ValueOf(c.WithDefaults())
			for j := range got.NumField() {
				if j == i || v.Type().Field(j).Name == "Cameras" {
					continue
				}
				if !reflect.DeepEqual(got.Field(j).Interface(), v.Field(j).Interface()) {
					t.Errorf("setting %s changed %s: %v, default %v", f.Name, v.Type().Field(j).Name, got.Field(j), v.Field(j))
				}
			}
		})
	}
}

func TestValidateNamesKey(t *testing.T) {
	cases := []struct {
		edit func(*lane.Config)
		want string
	}{
		{func(c *lane.Config) { c.Trigger = "radar" }, "lane.trigger:"},
		{func(c *lane.Config) { c.Cameras = append(c.Cameras, c.Cameras[0]) }, `lane.cameras[1].name: "front" appears twice`},
		{func(c *lane.Config) { c.Cameras[0].Zone = lane.Zone{X0: 0.5, Y0: 0, X1: 0.4, Y1: 1} }, "lane.cameras[0].zone:"},
		{func(c *lane.Config) { c.Cameras[0].Name = "bad name" }, "lane.cameras[0].name:"},
		{func(c *lane.Config) { c.UnknownThreshold = 0.95 }, "lane.unknown_threshold: 0.95 above match_threshold"},
		{func(c *lane.Config) { c.MatchThreshold = 1.5 }, "lane.match_threshold:"},
		{func(c *lane.Config) { c.EmbedBudget = 2 }, "lane.embed_budget: 2 below best_k 3"},
		{func(c *lane.Config) { c.Fusion = "median" }, "lane.fusion:"},
		{func(c *lane.Config) { c.MaxPresence = c.MaxCapture }, "lane.max_presence:"},
		{func(c *lane.Config) { c.VideoInput = "arrival" }, "lane.video_input:"},
		{func(c *lane.Config) { c.PostMargin = -time.Second }, "lane.post_margin:"},
		{func(c *lane.Config) { c.TopCandidates = 9 }, "lane.top_candidates:"},
	}
	if err := validCfg().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, c := range cases {
		cfg := validCfg()
		c.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

const exampleYAML = `
trigger: loop
arrival_input: loop-a
departure_input: loop-b
cameras:
  - name: front
    zone: {x0: 0.1, y0: 0.0, x1: 0.9, y1: 0.8}
  - name: side
pre_margin: 200ms
max_capture: 15s
fusion: vote
match_threshold: 0.93
`

func TestConfigYAML(t *testing.T) {
	var c lane.Config
	if err := yaml.Unmarshal([]byte(exampleYAML), &c); err != nil {
		t.Fatal(err)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.PreMargin != 200*time.Millisecond || c.MaxCapture != 15*time.Second || c.ArrivalInput != "loop-a" ||
		c.Cameras[0].Zone.X1 != 0.9 || c.Cameras[1].Zone != (lane.Zone{X0: 0, Y0: 0, X1: 1, Y1: 1}) || c.Fusion != "vote" {
		t.Errorf("decoded %+v", c)
	}
}

// FuzzConfig: any YAML either fails to decode, fails Validate with a
// named key, or builds a lane.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(exampleYAML))
	f.Add([]byte("cameras: [{name: a, zone: {x0: 1, x1: 0}}]"))
	f.Add([]byte("cameras: [{name: a}]\nmax_presence: 1s\nmax_capture: 2s"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c lane.Config
		if yaml.Unmarshal(b, &c) != nil {
			return
		}
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			if !strings.Contains(err.Error(), "lane.") {
				t.Fatalf("error names no key: %v", err)
			}
			return
		}
		_, err := lane.New(c, lane.Deps{Site: "s", Lane: "l", Analyzer: &lanetest.Analyzer{},
			Gallery: lanetest.NewGallery(lanetest.NewSnapshot("g")), Sink: &lanetest.Sink{}})
		if err != nil && !c.Evidence {
			t.Fatalf("valid config refused by New: %v", err)
		}
	})
}
