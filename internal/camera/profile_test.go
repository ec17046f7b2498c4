package camera_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/camera"
)

const profileDir = "../../firmware-config/cameras"

// TestShippedProfilesLoad loads every profile in firmware-config/cameras.
func TestShippedProfilesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(profileDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		p, err := camera.LoadProfile(profileDir, name)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		c := camera.Config{Name: "front", Device: "/dev/video0", Controls: map[string]int32{"gain": 7}}.WithProfile(p).WithDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: config from profile: %v", name, err)
		}
		if c.Controls["gain"] != 7 || len(c.Controls) < 2 || c.Width != p.Width {
			t.Errorf("%s: merge gave %+v", name, c)
		}
	}
}

func TestProfileErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: bad\ncontrols:\n  exposure: 5\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("name: typo\nfsp: 30\n"), 0o644)
	for name, want := range map[string]string{
		"bad":     "controls.exposure: unknown control",
		"typo":    "field fsp not found",
		"missing": "no such file",
		"../etc":  "not a profile name",
	} {
		if _, err := camera.LoadProfile(dir, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadProfile(%s) = %v, want %q", name, err, want)
		}
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("name: p\nformat: MJPEG\nwidth: 1280\nheight: 720\nfps: 30\ncontrols:\n  gain: 10\n"))
	f.Add([]byte("name: p\ncontrols: {exposure: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := camera.ParseProfile("fuzz.yaml", "p", data)
		if err != nil {
			return
		}
		for c := range p.Controls {
			if _, ok := camera.ControlID(c); !ok {
				t.Fatalf("unknown control %q accepted", c)
			}
		}
	})
}
