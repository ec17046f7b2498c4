package config

import (
	"strings"
	"testing"
)

// TestLaneSectionsNameTheKey: errors in the lane's sections name the key
// path, with or without cameras.
func TestLaneSectionsNameTheKey(t *testing.T) {
	base := "site: s\nlane: l\nuplink: {brokers: [tcp://127.0.0.1:1883]}\n"
	for _, tc := range []struct{ yaml, want string }{
		{"transactions: {fusion: avg}\n", "transactions.fusion"},
		{"transactions: {best_k: 99}\n", "transactions.best_k"},
		{"cameras: [{name: front, replay: /tmp}]\ntransactions: {cameras: [{name: side}]}\n", "transactions.cameras[0].name"},
		{"cameras: [{name: front, replay: /tmp}]\ntriggers: [{name: video, camera: side}]\n", "triggers[0].camera"},
		{"cameras: [{name: front, replay: /tmp}]\ntriggers: [{name: v2, camera: front}]\n", "triggers[0].name"},
		{"metrics: {address: nowhere}\n", "metrics.address"},
		{"transactions: {tigger: loop}\n", "transactions.tigger: unknown key"},
		{"cameras: [{name: front, replay: /tmp}]\nsensors: {inputs: [{name: arrival, chip: gpiochip0, line: 1}]}\nreplay: {sensors: /tmp/s.csv}\n", "replay.sensors"},
	} {
		_, err := Parse([]byte(base + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.want)
		}
	}
	c, err := Parse([]byte(base + "cameras: [{name: front, replay: /tmp}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasLane() || c.Engine.Trigger != "video" || len(c.Triggers) != 1 || c.Triggers[0].Camera != "front" || len(c.Engine.Cameras) != 1 {
		t.Errorf("defaults of a camera-only lane: trigger %q, triggers %+v, lane cameras %+v", c.Engine.Trigger, c.Triggers, c.Engine.Cameras)
	}
}
