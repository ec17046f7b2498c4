package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/vision/pipeline"
)

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("laned %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func runFail(t *testing.T, want string, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 1 {
		t.Fatalf("laned %s: exit %d, want 1\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), want) {
		t.Fatalf("laned %s: stderr %q does not say %q", strings.Join(args, " "), errb.String(), want)
	}
}

func writeTemplates(t *testing.T, path string, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		v := make([]float32, pipeline.Dim)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		enc.Encode(map[string]any{"subject": fmt.Sprintf("p%04d", i), "category": "watch", "templates": [][]float32{v}})
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGalleryCommands runs the central office's and the lane's commands
// end to end on precomputed templates.
func TestGalleryCommands(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	runOK(t, "gallery", "keygen", "--storage", "-o", p("store.key"))
	runFail(t, "exists", "gallery", "keygen", "-o", p("sign.key"))
	writeTemplates(t, p("t.jsonl"), 40, 1)
	out := runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("v1.bundle"), "--version", "1")
	if !strings.Contains(out, "gallery version 1, 40 subjects") {
		t.Fatalf("build said %q", out)
	}
	out = runOK(t, "gallery", "inspect", "--trust", p("sign.key.pub"), p("v1.bundle"))
	for _, want := range []string{"signature:       valid", "records check:   valid", `category "watch"`, "templates:       40"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	lane := []string{"--db", p("g.db"), "--key-file", p("store.key"), "--trust", p("sign.key.pub")}
	runOK(t, append([]string{"gallery", "import"}, append(lane, p("v1.bundle"))...)...)
	out = runOK(t, append([]string{"gallery", "status"}, lane[:4]...)...)
	if !strings.Contains(out, "gallery version 1, 40 subjects") {
		t.Fatalf("status said %q", out)
	}
	// Refusals leave version 1 active.
	runFail(t, "does not increase", append([]string{"gallery", "import"}, append(lane, p("v1.bundle"))...)...)
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("v2.bundle"), "--version", "2")
	b, _ := os.ReadFile(p("v2.bundle"))
	b[len(b)-10] ^= 1
	os.WriteFile(p("bad.bundle"), b, 0o644)
	runFail(t, "digest does not match", append([]string{"gallery", "import"}, append(lane, p("bad.bundle"))...)...)
	runFail(t, "digest does not match", "gallery", "inspect", "--trust", p("sign.key.pub"), p("bad.bundle"))
	runOK(t, "gallery", "keygen", "-o", p("other.key"))
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("other.key"), "-o", p("other.bundle"), "--version", "5")
	runFail(t, "unknown key", append([]string{"gallery", "import"}, append(lane, p("other.bundle"))...)...)
	// Another process (here: another open) holds the store.
	k, err := store.LoadKeyFile(p("store.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(p("g.db"), store.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	runFail(t, "locked by another process", append([]string{"gallery", "status", "--lock-timeout", "100ms"}, lane[:4]...)...)
	s.Close()
	out = runOK(t, append([]string{"gallery", "status"}, lane[:4]...)...)
	if !strings.Contains(out, "gallery version 1, 40 subjects") {
		t.Fatalf("status after refusals said %q", out)
	}
	// A delta against v1: remove one subject, replace one, add one.
	v := make([]float32, pipeline.Dim)
	v[0] = 1
	var d bytes.Buffer
	enc := json.NewEncoder(&d)
	enc.Encode(map[string]any{"subject": "p0000", "remove": true})
	enc.Encode(map[string]any{"subject": "p0005", "templates": [][]float32{v}})
	enc.Encode(map[string]any{"subject": "q0001", "templates": [][]float32{v}})
	os.WriteFile(p("delta.jsonl"), d.Bytes(), 0o644)
	runOK(t, "gallery", "build", "--from-templates", p("delta.jsonl"), "--base", p("v1.bundle"), "--key", p("sign.key"), "-o", p("d3.bundle"), "--version", "3")
	out = runOK(t, "gallery", "inspect", "--trust", p("sign.key.pub"), p("d3.bundle"))
	for _, want := range []string{"kind:            delta", "base version:    1", "gallery after import: 40 subjects", "removals:        1"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of the delta lacks %q:\n%s", want, out)
		}
	}
	runOK(t, append([]string{"gallery", "import"}, append(lane, p("d3.bundle"))...)...)
	out = runOK(t, append([]string{"gallery", "status"}, lane[:4]...)...)
	if !strings.Contains(out, "gallery version 3, 40 subjects") {
		t.Fatalf("status after the delta said %q", out)
	}
	os.WriteFile(p("bad-delta.jsonl"), []byte(`{"subject":"nobody","remove":true}`), 0o644)
	runFail(t, "base does not have", "gallery", "build", "--from-templates", p("bad-delta.jsonl"), "--base", p("v1.bundle"), "--key", p("sign.key"), "-o", p("x.bundle"))

	// Unsorted templates are refused with the record number.
	os.WriteFile(p("unsorted.jsonl"), []byte(`{"subject":"b","templates":[[1]]}`+"\n"+`{"subject":"a","templates":[[1]]}`), 0o644)
	runFail(t, "record 1", "gallery", "build", "--from-templates", p("unsorted.jsonl"), "--key", p("sign.key"), "-o", p("x.bundle"))
}

// TestGalleryBuildFromPhotos enrols ../shared's folder-per-identity photos
// through the real pipeline, plus a group photo and a text file that must
// be listed as rejected.
func TestGalleryBuildFromPhotos(t *testing.T) {
	models := detectModels(t)
	johns := filepath.Join("..", "..", "..", "shared", "datasets", "johns")
	ents, err := os.ReadDir(johns)
	if err != nil {
		t.Skipf("../shared absent: %v", err)
	}
	dir := t.TempDir()
	enrolDir := filepath.Join(dir, "enrol")
	for _, e := range ents[:2] {
		src := filepath.Join(johns, e.Name())
		photos, _ := os.ReadDir(src)
		os.MkdirAll(filepath.Join(enrolDir, e.Name()), 0o755)
		for _, ph := range photos[:3] {
			os.Symlink(filepath.Join(must(filepath.Abs(src)), ph.Name()), filepath.Join(enrolDir, e.Name(), ph.Name()))
		}
	}
	os.MkdirAll(filepath.Join(enrolDir, "group"), 0o755)
	os.Symlink(filepath.Join(models, "face-api", "demo", "sample1.jpg"), filepath.Join(enrolDir, "group", "sample1.jpg"))
	os.WriteFile(filepath.Join(enrolDir, ents[0].Name(), "notes.txt"), []byte("x"), 0o644)
	runOK(t, "gallery", "keygen", "-o", filepath.Join(dir, "sign.key"))
	out := runOK(t, "gallery", "build", "--from", enrolDir, "--key", filepath.Join(dir, "sign.key"), "-o", filepath.Join(dir, "g.bundle"))
	for _, want := range []string{"rejected " + filepath.Join(enrolDir, "group", "sample1.jpg"), "more than one face", "notes.txt: not an image file", "enrolled 2 subjects (6 templates) from 7 photos"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
