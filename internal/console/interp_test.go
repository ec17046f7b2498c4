package console

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/clock"
)

func newTestInterp(t *testing.T) (*Interpreter, *fakeBackend, *MemoryAuditor) {
	t.Helper()
	fb := &fakeBackend{}
	au := &MemoryAuditor{}
	in, err := NewInterpreter(fb, au, clock.NewFake(t0), NewRedactor(fakeBrokerPassword, fakeGalleryKey))
	if err != nil {
		t.Fatal(err)
	}
	return in, fb, au
}

var (
	viewer = Identity{User: "vera", Role: RoleViewer, Transport: "test"}
	tech   = Identity{User: "tom", Role: RoleTechnician, Transport: "test"}
)

func TestInterpreterCommands(t *testing.T) {
	cases := []struct {
		id      Identity
		line    string
		want    []string // substrings of the output
		call    string   // backend call expected ("" none)
		err     error    // errors.Is target, nil for success
		anyErr  bool
		command string
		result  string
	}{
		{viewer, "status", []string{"site north", "lane 3", "state degraded", "problem: uplink: offline"}, "Status", nil, false, "status", "ok"},
		{viewer, "STATUS", []string{"state degraded"}, "Status", nil, false, "status", "ok"},
		{viewer, "cameras", []string{"front", "/dev/video0", "MJPG 1280x720", "14.9"}, "Cameras", nil, false, "cameras", "ok"},
		{viewer, "cameras get front exposure_absolute", []string{"exposure_absolute", "250"}, "Cameras", nil, false, "cameras get", "ok"},
		{viewer, "cameras get front nope", []string{`no control "nope"`}, "Cameras", nil, true, "cameras get", "error"},
		{viewer, "cameras get rear", []string{`no camera "rear" (have: front)`}, "Cameras", nil, true, "cameras get", "error"},
		{viewer, "cameras set front focus_absolute 40", []string{"needs the technician role (you are viewer)"}, "", ErrDenied, false, "cameras set", "denied"},
		{tech, "cameras set front focus_absolute 40", []string{"front focus_absolute = 40"}, "SetControl", nil, false, "cameras set", "ok"},
		{tech, "cameras set front focus_absolute forty", []string{`value "forty"`}, "", nil, true, "cameras set", "error"},
		{viewer, "snapshot front", []string{"permission denied"}, "", ErrDenied, false, "snapshot", "denied"},
		{tech, "snapshot front aim.jpg", []string{"1280x720", "face 1 at 600,200 120x150", "quality 0.81", "image: aim.jpg"}, "Snapshot", nil, false, "snapshot", "ok"},
		{tech, "snapshot", []string{"usage: snapshot CAM [FILE]"}, "", nil, true, "snapshot", "error"},
		{viewer, "trigger test", []string{"permission denied"}, "", ErrDenied, false, "trigger test", "denied"},
		{tech, "trigger test", []string{"tx-test-1", "no_match", "2 occupants", "queued: true"}, "TriggerTest", nil, false, "trigger test", "ok"},
		{viewer, "sensors", []string{"arrival", "gpiochip0:17", "42", "departure", "active", "stuck"}, "Sensors", nil, false, "sensors", "ok"},
		{viewer, "gallery", []string{"g-20261130", "subjects 1200", "8h0m0s old"}, "GalleryInfo", nil, false, "gallery", "ok"},
		{viewer, "gallery info", []string{"g-20261130"}, "GalleryInfo", nil, false, "gallery info", "ok"},
		{viewer, "gallery sync", []string{"permission denied"}, "", ErrDenied, false, "gallery sync", "denied"},
		{tech, "gallery sync", []string{"error: gallery sync: central office unreachable"}, "GallerySync", nil, true, "gallery sync", "error"},
		{tech, `gallery import "/media/usb/lane 3.bundle"`, []string{"g-import"}, "GalleryImport", nil, false, "gallery import", "ok"},
		{viewer, "outbox", []string{"depth 7", "oldest 3m0s", "uplink offline"}, "Outbox", nil, false, "outbox", "ok"},
		{viewer, "outbox retry", []string{"permission denied"}, "", ErrDenied, false, "outbox retry", "denied"},
		{tech, "outbox retry", []string{"depth 0", "connected"}, "OutboxRetry", nil, false, "outbox retry", "ok"},
		{viewer, "models", []string{"ok    blazeface.onnx  0123456789ab"}, "Models", nil, false, "models", "ok"},
		{viewer, "config show", []string{"password: " + Redacted, "at_rest_key: " + Redacted, "key_file: /etc/laned/client.key", "note: key is " + Redacted, "broker: ssl://broker:8883"}, "Config", nil, false, "config show", "ok"},
		{viewer, "log tail 5", []string{"msg=started", "password=" + Redacted}, "LogTail", nil, false, "log tail", "ok"},
		{viewer, "log tail many", []string{`line count "many"`}, "", nil, true, "log tail", "error"},
		{viewer, "events", []string{"camera_fault", "front: no frames"}, "Events", nil, false, "events", "ok"},
		{viewer, "selftest", []string{"PASS  models", "FAIL  broker", "1 of 2 checks failed"}, "Selftest", nil, true, "selftest", "error"},
		{viewer, "help", []string{"snapshot CAM [FILE]", "[technician]", "config show"}, "", nil, false, "help", "ok"},
		{viewer, "help trigger test", []string{"role: technician"}, "", nil, false, "help", "ok"},
		{viewer, "whoami", []string{"vera (viewer) via test"}, "", nil, false, "whoami", "ok"},
		{viewer, "logout", []string{"bye"}, "", ErrLogout, false, "logout", "ok"},
		{viewer, "frobnicate now", []string{`unknown command "frobnicate"`}, "", ErrUnknown, false, "", "unknown"},
		{viewer, `status "unterminated`, []string{"unterminated \" quote"}, "", ErrUnknown, false, "", "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.id.User+" "+tc.line, func(t *testing.T) {
			in, fb, au := newTestInterp(t)
			var out bufOut
			res := in.Exec(context.Background(), tc.id, tc.line, &out)
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			switch {
			case tc.err != nil && !errors.Is(res.Err, tc.err):
				t.Errorf("err = %v, want %v", res.Err, tc.err)
			case tc.err == nil && tc.anyErr && res.Err == nil:
				t.Errorf("err = nil, want an error")
			case tc.err == nil && !tc.anyErr && res.Err != nil:
				t.Errorf("err = %v, want nil", res.Err)
			}
			calls := fb.Calls()
			if tc.call == "" && len(calls) > 0 {
				t.Errorf("backend called %v, want no call", calls)
			}
			if tc.call != "" && (len(calls) == 0 || calls[len(calls)-1] != tc.call) {
				t.Errorf("backend calls %v, want %s", calls, tc.call)
			}
			if res.Command != tc.command {
				t.Errorf("command = %q, want %q", res.Command, tc.command)
			}
			recs := au.Records()
			if len(recs) != 1 {
				t.Fatalf("%d audit records, want 1: %+v", len(recs), recs)
			}
			r := recs[0]
			if r.User != tc.id.User || r.Role != tc.id.Role || r.Result != tc.result || !r.At.Equal(t0) {
				t.Errorf("audit %+v, want user %s result %s", r, tc.id.User, tc.result)
			}
			if tc.command != "" && !strings.HasPrefix(r.Command, tc.command) {
				t.Errorf("audit command %q, want prefix %q", r.Command, tc.command)
			}
			for _, sec := range []string{fakeBrokerPassword, fakeGalleryKey} {
				if strings.Contains(got, sec) || strings.Contains(r.Detail, sec) || strings.Contains(r.Command, sec) {
					t.Errorf("secret %q leaked", sec)
				}
			}
		})
	}
}

func TestSnapshotFileDelivered(t *testing.T) {
	in, _, _ := newTestInterp(t)
	var out bufOut
	in.Exec(context.Background(), tech, "snapshot front", &out)
	if len(out.files) != 1 || string(out.files["front-20261201T080000Z.jpg"]) != "\xff\xd8fakejpeg\xff\xd9" {
		t.Fatalf("files %v", out.files)
	}
	out = bufOut{noFile: true}
	res := in.Exec(context.Background(), tech, "snapshot front", &out)
	if res.Err != nil || !strings.Contains(out.String(), "image not sent") {
		t.Fatalf("serial-like output: %v\n%s", res.Err, out.String())
	}
}

func TestUnknownLineNotAudited(t *testing.T) {
	in, _, au := newTestInterp(t)
	in.Exec(context.Background(), viewer, "MyS3cretPassw0rd", &bufOut{})
	r := au.Records()[0]
	if strings.Contains(r.Command+r.Detail, "MyS3cret") {
		t.Fatalf("audit kept the typed text: %+v", r)
	}
}

func TestBlankLineIsNoOp(t *testing.T) {
	in, _, au := newTestInterp(t)
	if res := in.Exec(context.Background(), viewer, "   ", &bufOut{}); res != (Result{}) {
		t.Fatalf("blank: %+v", res)
	}
	if n := len(au.Records()); n != 0 {
		t.Fatalf("blank line audited %d times", n)
	}
}

func TestStreamsStopOnClockTimeout(t *testing.T) {
	fb := &fakeBackend{}
	clk := clock.NewFake(t0)
	in, _ := NewInterpreter(fb, &MemoryAuditor{}, clk, nil)
	done := make(chan Result)
	var out bufOut
	go func() { done <- in.Exec(context.Background(), viewer, "sensors watch 5", &out) }()
	clk.BlockUntil(1)
	clk.Advance(5 * time.Second)
	res := <-done
	if res.Err != nil || !strings.Contains(out.String(), "arrival") {
		t.Fatalf("watch: %v\n%s", res.Err, out.String())
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"status", []string{"status"}, ""},
		{"  gallery   import  a.b ", []string{"gallery", "import", "a.b"}, ""},
		{`gallery import "a b"`, []string{"gallery", "import", "a b"}, ""},
		{`x 'it''s' "q\"q" a\ b`, []string{"x", "its", `q"q`, "a b"}, ""},
		{`x ""`, []string{"x", ""}, ""},
		{"x \x1b[A", nil, "control character"},
		{"x 'open", nil, "unterminated"},
		{`x \`, nil, "backslash"},
		{"\xff", nil, "UTF-8"},
		{strings.Repeat("a ", 17), nil, "too many words"},
		{strings.Repeat("a", MaxLine+1), nil, "too long"},
	}
	for _, tc := range cases {
		got, err := Split(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Split(%q) err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	cfg := DefaultConfig()
	err := yaml.Unmarshal([]byte("socket: /run/x.sock\nroles:\n  ops: technician\nidle_timeout: 5m\nlogin:\n  lockout: 1h\nserial:\n  device: /dev/ttyS1\n  baud: 57600\n"), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Socket != "/run/x.sock" || cfg.Roles["ops"] != RoleTechnician || cfg.IdleTimeout != 5*time.Minute ||
		cfg.Login.Lockout != time.Hour || cfg.Serial.Baud != 57600 || cfg.Users != DefaultConfig().Users {
		t.Fatalf("%+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	if err := yaml.Unmarshal([]byte("roles:\n  ops: admin\n"), &bad); err == nil || !strings.Contains(err.Error(), `"admin"`) {
		t.Errorf("bad role: %v", err)
	}
	bad = DefaultConfig()
	bad.Serial = SerialConfig{Device: "/dev/ttyS0", Baud: 12345}
	bad.IdleTimeout = time.Second
	err = bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "console.serial.baud") || !strings.Contains(err.Error(), "console.idle_timeout") {
		t.Errorf("validate: %v", err)
	}
}
