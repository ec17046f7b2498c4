package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/check"
)

func TestCheckNamesFailingItemsAndExitsNonZero(t *testing.T) {
	models := t.TempDir() // empty: every model missing
	state := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"check", "--model-dir", models, "--state-dir", state, "--unit", "",
		"--camera", "front=/dev/video-nonexistent", "--sensor", "arrival=gpiochip99:17", "--broker", "ssl://127.0.0.1:1"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"FAIL  camera devices", "camera front: /dev/video-nonexistent",
		"FAIL  sensor lines", "sensor arrival: /dev/gpiochip99",
		"FAIL  models", "face_recognition.onnx",
		"FAIL  broker", "ssl://127.0.0.1:1 unreachable",
		"PASS  outbox writable",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "laned check: failed: camera devices, sensor lines, models, broker") {
		t.Errorf("stderr: %s", errb.String())
	}

	out.Reset()
	code = run(context.Background(), []string{"check", "--json", "--model-dir", models, "--state-dir", state, "--unit", "", "--outbox-dir", filepath.Join(state, "missing")}, &out, &errb)
	var rep check.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 1 || rep.OK {
		t.Fatalf("json: exit %d %v\n%s", code, err, out.String())
	}
	found := false
	for _, r := range rep.Checks {
		if r.Name == "outbox writable" && !r.OK && strings.Contains(r.Detail, filepath.Join(state, "missing")) {
			found = true
		}
	}
	if !found {
		t.Errorf("outbox failure not named: %s", out.String())
	}
	out.Reset()
	errb.Reset()
	code = run(context.Background(), []string{"check", "--model-dir", models, "--state-dir", state, "--unit", "", "--skip", "models", "--skip", "clock"}, &out, &errb)
	if code != 0 || strings.Contains(out.String(), "models") || !strings.Contains(errb.String(), "skipped: models, clock") {
		t.Errorf("--skip: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if code := run(context.Background(), []string{"check", "--skip", "nope"}, &out, &errb); code != 2 {
		t.Errorf("--skip nope: exit %d", code)
	}
	if code := run(context.Background(), []string{"check", "--min-free", "lots"}, &out, &errb); code != 2 {
		t.Errorf("bad --min-free: exit %d", code)
	}
	os.Remove(state)
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"1GiB": 1 << 30, "512MiB": 512 << 20, "100": 100, "4KiB": 4096} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
}
