package camera_test

import (
	"strings"
	"testing"

	"github.com/laned/laned/internal/camera"
)

func TestValidateNamesKeyAndDevice(t *testing.T) {
	base := camera.Config{Name: "front", Device: "/dev/v4l/by-id/usb-cam-video-index0"}
	tests := []struct {
		name string
		cs   []camera.Config
		want string
	}{
		{"ok", []camera.Config{base}, ""},
		{"format the camera lacks", []camera.Config{base, {Name: "side", Device: "/dev/video2", Format: "H264"}},
			`cameras[1].format: camera "side" (/dev/video2) unknown pixel format "H264" (want MJPEG or YUYV)`},
		{"unknown control", []camera.Config{{Name: "front", Device: "/dev/video0", Controls: map[string]int32{"exposure": 1}}},
			`cameras[0].controls.exposure: camera "front" (/dev/video0) unknown control "exposure"`},
		{"duplicate name", []camera.Config{base, {Name: "front", Device: "/dev/video4"}},
			`cameras[1].name: camera "front" (/dev/video4) duplicate name; cameras[0] is also "front"`},
		{"same device twice", []camera.Config{base, {Name: "side", Device: base.Device}},
			`cameras[1].device: camera "side" (/dev/v4l/by-id/usb-cam-video-index0) same device as cameras[0]`},
		{"no device", []camera.Config{{Name: "front"}}, `cameras[0].device: camera "front" needs a device`},
		{"not under dev", []camera.Config{{Name: "front", Device: "/tmp/x"}}, `cameras[0].device: camera "front" (/tmp/x) device "/tmp/x" is not under /dev`},
		{"bad fps", []camera.Config{{Name: "front", Device: "/dev/video0", FPS: 1000}}, `cameras[0].fps: camera "front" (/dev/video0) fps 1000 out of range`},
		{"bad name", []camera.Config{{Name: "Front Cam", Device: "/dev/video0"}}, `cameras[0].name: camera "Front Cam" (/dev/video0) name "Front Cam"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := camera.ValidateAll(tt.cs)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant containing %s", err, tt.want)
			}
		})
	}
}

func TestWithDefaultsKeepsSetFields(t *testing.T) {
	c := camera.Config{Name: "a", Device: "/dev/video0", Width: 640, Ring: 9}.WithDefaults()
	if c.Width != 640 || c.Height != camera.DefaultHeight || c.Ring != 9 || c.FPS != camera.DefaultFPS {
		t.Errorf("WithDefaults = %+v", c)
	}
}
