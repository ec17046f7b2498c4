package check

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type fakeLane struct {
	cams    []CameraStatus
	sensors []SensorStatus
	gallery GalleryStatus
	err     error
	edge    chan struct{}
}

func (f *fakeLane) ProbeCameras(context.Context) ([]CameraStatus, error) { return f.cams, f.err }
func (f *fakeLane) ProbeSensors(context.Context) ([]SensorStatus, error) { return f.sensors, f.err }
func (f *fakeLane) ProbeGallery(context.Context) (GalleryStatus, error)  { return f.gallery, f.err }
func (f *fakeLane) WaitEdge(ctx context.Context, s string) error {
	select {
	case <-f.edge:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func demoLane() *fakeLane {
	return &fakeLane{
		cams: []CameraStatus{
			{Name: "front", Device: "/dev/v4l/by-id/usb-cam-front", WantFPS: 15, FPS: 14.8, Sharpness: 420, Brightness: 118},
			{Name: "rear", Device: "/dev/video2", WantFPS: 15, FPS: 15, Sharpness: 380, Brightness: 104},
		},
		sensors: []SensorStatus{{Name: "arrival", Line: "gpiochip0:17"}, {Name: "departure", Line: "gpiochip0:27", Active: true}},
		gallery: GalleryStatus{Version: "g-20261130", Built: time.Now().Add(-6 * time.Hour), Subjects: 1200},
		edge:    make(chan struct{}, 1),
	}
}

func laneChecks(f *fakeLane) []Check {
	return []Check{CameraFrames(f, CameraLimits{}), CameraImage(f, CameraLimits{}), Sensors(f), Gallery(f, 36*time.Hour, nil)}
}

func TestDemoLanePassesAndFaultsAreNamed(t *testing.T) {
	for _, r := range Run(context.Background(), laneChecks(demoLane()), time.Second) {
		wantPass(t, r)
	}
	cases := []struct {
		name  string
		fault func(*fakeLane)
		check int
		want  []string
	}{
		{"camera path wrong", func(f *fakeLane) {
			f.cams[1].Err = "open /dev/video7: no such file or directory"
			f.cams[1].Device = "/dev/video7"
		},
			0, []string{"camera rear (/dev/video7)", "no such file"}},
		{"camera slow", func(f *fakeLane) { f.cams[0].FPS = 6 }, 0, []string{"camera front", "6.0 fps, want at least 13.5"}},
		{"lens out of focus", func(f *fakeLane) { f.cams[0].Sharpness = 12 }, 1, []string{"camera front", "sharpness 12", "focus front"}},
		{"glare", func(f *fakeLane) { f.cams[1].Brightness = 250 }, 1, []string{"camera rear", "brightness 250"}},
		{"sensor line missing", func(f *fakeLane) { f.sensors[0].Err = "gpiochip0 line 17: no such line" }, 2, []string{"sensor arrival (gpiochip0:17)", "no such line"}},
		{"gallery too old", func(f *fakeLane) { f.gallery.Built = time.Now().Add(-72 * time.Hour) }, 3, []string{"g-20261130", "want at most 36h"}},
		{"no gallery", func(f *fakeLane) { f.gallery = GalleryStatus{} }, 3, []string{"no gallery loaded"}},
		{"daemon down", func(f *fakeLane) { f.err = errors.New("local API /run/laned/api.sock: connection refused") }, 0, []string{"connection refused"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := demoLane()
			tc.fault(f)
			rs := Run(context.Background(), laneChecks(f), time.Second)
			wantFail(t, rs[tc.check], tc.want...)
			for i, r := range rs {
				if i != tc.check && !r.OK && tc.name != "daemon down" && !strings.HasPrefix(tc.name, "camera path") {
					t.Errorf("%s also failed: %s", r.Name, r.Detail)
				}
			}
		})
	}
}

func TestToggle(t *testing.T) {
	f := demoLane()
	var prompt strings.Builder
	f.edge <- struct{}{}
	wantPass(t, runCheck(t, Toggle(f, "arrival", "drive over the arrival loop", &prompt)))
	if !strings.Contains(prompt.String(), ">>> drive over the arrival loop now") {
		t.Errorf("prompt %q", prompt.String())
	}
	r := Run(context.Background(), []Check{Toggle(f, "arrival", "drive over the arrival loop", &prompt)}, 20*time.Millisecond)[0]
	wantFail(t, r, "no answer")
}

func TestDeviceNodes(t *testing.T) {
	wantFail(t, runCheck(t, CameraDevices(map[string]string{"front": "/dev/null"})), "camera front", "/dev/null is not a video4linux device")
	wantFail(t, runCheck(t, CameraDevices(map[string]string{"front": "/dev/v4l/by-id/nothing"})), "camera front", "/dev/v4l/by-id/nothing")
	wantFail(t, runCheck(t, CameraDevices(map[string]string{"front": "/etc/passwd"})), "not a character device")
	wantFail(t, runCheck(t, CameraDevices(nil)), "no cameras configured")
	wantFail(t, runCheck(t, SensorLines(map[string]string{"arrival": "gpiochip9:17"})), "sensor arrival", "/dev/gpiochip9")
	wantFail(t, runCheck(t, SensorLines(map[string]string{"arrival": "GPIO17"})), "sensor arrival", `"GPIO17"`)
}
