package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/vision/detect"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/laned/laned/internal/vision/quality"
)

func TestConfigExampleAndCheck(t *testing.T) {
	var out, errw bytes.Buffer
	if code := run(t.Context(), []string{"config", "example"}, &out, &errw); code != 0 {
		t.Fatalf("config example: exit %d: %s", code, errw.String())
	}
	golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "config", "testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(golden) {
		t.Error("laned config example differs from internal/config/testdata/example.yaml")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "laned.yaml")
	os.WriteFile(good, out.Bytes(), 0o600)
	out.Reset()
	if code := run(t.Context(), []string{"config", "check", good}, &out, &errw); code != 0 || !strings.Contains(out.String(), "ok") {
		t.Fatalf("config check of the example: exit %d: %s %s", code, out.String(), errw.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, bytes.Replace(golden, []byte("  min_sharpness:"), []byte("  min_sharpnes:"), 1), 0o600)
	errw.Reset()
	if code := run(t.Context(), []string{"config", "check", bad}, &out, &errw); code != 1 ||
		!strings.Contains(errw.String(), `vision.quality.min_sharpnes: unknown key`) {
		t.Fatalf("config check of a broken file: exit %d: %s", code, errw.String())
	}
}

// TestVisionDefaultsArePipelines: the vision section's defaults, defined
// cgo-free in package config, are the pipeline's own.
func TestVisionDefaultsArePipelines(t *testing.T) {
	q, d := config.DefaultQuality, quality.DefaultThresholds
	if float32(q.MinEyeDistance) != d.MinEyeDistance || q.MinSharpness != d.MinSharpness || q.MinBrightness != d.MinBrightness ||
		q.MaxBrightness != d.MaxBrightness || q.MaxClipped != d.MaxClipped || q.MaxYaw != d.MaxYaw {
		t.Errorf("config %+v, pipeline %+v", q, d)
	}
	if config.DefaultMatchThreshold != pipeline.DefaultThreshold || config.DefaultDetectorMinFace != detect.DefaultMinFace {
		t.Errorf("match threshold %v vs %v, min face %d vs %d", config.DefaultMatchThreshold, pipeline.DefaultThreshold,
			config.DefaultDetectorMinFace, detect.DefaultMinFace)
	}
}
