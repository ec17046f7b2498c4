package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"ok", `{"frames":[{"name":"a","file":"a.png","source":"s.jpg"},{"name":"b","file":"b.png","from":"a","resize":{"w":4,"h":3}}]}`, ""},
		{"not json", `{"frames":`, "parse frame list"},
		{"unknown field", `{"frames":[{"name":"a","file":"a.png","source":"s.jpg","crops":{}}]}`, "unknown field"},
		{"no frames", `{"frames":[]}`, "no frames"},
		{"no name", `{"frames":[{"file":"a.png","source":"s.jpg"}]}`, "needs name and file"},
		{"path escapes", `{"frames":[{"name":"a","file":"../a.png","source":"s.jpg"}]}`, "plain .png name"},
		{"not png", `{"frames":[{"name":"a","file":"a.jpg","source":"s.jpg"}]}`, "plain .png name"},
		{"both inputs", `{"frames":[{"name":"a","file":"a.png","source":"s.jpg","from":"x"}]}`, "exactly one of source and from"},
		{"no input", `{"frames":[{"name":"a","file":"a.png"}]}`, "exactly one of source and from"},
		{"from later", `{"frames":[{"name":"b","file":"b.png","from":"a"},{"name":"a","file":"a.png","source":"s.jpg"}]}`, "earlier frame"},
		{"duplicate", `{"frames":[{"name":"a","file":"a.png","source":"s.jpg"},{"name":"a","file":"b.png","source":"s.jpg"}]}`, "duplicate frame"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSpec([]byte(tc.json), "frames.json")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The repository's own frame list must stay valid.
func TestRepoFrameList(t *testing.T) {
	s, err := readSpec(filepath.Join("..", "frames.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range s.Frames {
		names[f.File] = true
	}
	for _, want := range []string{"1080p-3faces.png", "640x480.png"} {
		if !names[want] {
			t.Errorf("frames.json lacks %s, which the benchmarks read", want)
		}
	}
}

// writeSource writes a 40×30 PNG whose pixel (x, y) is (B=x, G=y, R=x+y).
func writeSource(t *testing.T, dir string) (string, string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x + y), G: uint8(y), B: uint8(x), A: 255})
		}
	}
	m, err := gocv.ImageToMatRGB(img)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := filepath.Join(dir, "src.png")
	if !gocv.IMWrite(p, m) {
		t.Fatal("write source")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, hex.EncodeToString(sum[:])
}

func TestRunMakesFrames(t *testing.T) {
	dir := t.TempDir()
	_, sum := writeSource(t, dir)
	spec := fmt.Sprintf(`{"frames":[
	  {"name":"crop","file":"crop.png","source":"src.png","sha256":%q,"crop":{"x":10,"y":5,"w":20,"h":16}},
	  {"name":"small","file":"small.png","from":"crop","resize":{"w":10,"h":8}}]}`, sum)
	specPath := filepath.Join(dir, "frames.json")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := run([]string{"-frames", specPath, "-src", dir, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	crop := gocv.IMRead(filepath.Join(out, "crop.png"), gocv.IMReadColor)
	defer crop.Close()
	if crop.Cols() != 20 || crop.Rows() != 16 {
		t.Fatalf("crop is %dx%d, want 20x16", crop.Cols(), crop.Rows())
	}
	// Lossless: pixel (0,0) of the crop is source pixel (10,5).
	if b, g, r := crop.GetVecbAt(0, 0)[0], crop.GetVecbAt(0, 0)[1], crop.GetVecbAt(0, 0)[2]; b != 10 || g != 5 || r != 15 {
		t.Errorf("crop(0,0) = BGR %d,%d,%d, want 10,5,15", b, g, r)
	}
	small := gocv.IMRead(filepath.Join(out, "small.png"), gocv.IMReadColor)
	defer small.Close()
	if small.Cols() != 10 || small.Rows() != 8 {
		t.Fatalf("small is %dx%d, want 10x8", small.Cols(), small.Rows())
	}
	// INTER_AREA at exactly ½ averages 2×2 blocks: B of (0,0) = mean(10,11,10,11) = 10.5 → 10 or 11.
	if b := small.GetVecbAt(0, 0)[0]; b != 10 && b != 11 {
		t.Errorf("small(0,0) B = %d, want 10 or 11", b)
	}
	if _, err := os.Stat(filepath.Join(out, "crop.png.tmp.png")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	_, sum := writeSource(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "junk.png"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, frames, wantErr string
	}{
		{"missing source", `{"name":"a","file":"a.png","source":"nope.jpg"}`, "nope.jpg"},
		{"checksum", `{"name":"a","file":"a.png","source":"src.png","sha256":"00"}`, "sha256"},
		{"not an image", `{"name":"a","file":"a.png","source":"junk.png"}`, "not a readable image"},
		{"crop outside", fmt.Sprintf(`{"name":"a","file":"a.png","source":"src.png","sha256":%q,"crop":{"x":30,"y":0,"w":20,"h":10}}`, sum), "outside the 40x30 input"},
		{"negative crop", `{"name":"a","file":"a.png","source":"src.png","crop":{"x":-1,"y":0,"w":2,"h":2}}`, "outside"},
		{"zero resize", `{"name":"a","file":"a.png","source":"src.png","resize":{"w":0,"h":10}}`, "out of range"},
		{"huge resize", `{"name":"a","file":"a.png","source":"src.png","resize":{"w":20000,"h":20000}}`, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			specPath := filepath.Join(dir, "frames.json")
			if err := os.WriteFile(specPath, []byte(`{"frames":[`+tc.frames+`]}`), 0o644); err != nil {
				t.Fatal(err)
			}
			err := run([]string{"-frames", specPath, "-src", dir, "-out", filepath.Join(dir, "out")}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "frames.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"frames":[{"name":"a","file":"a.png","source":"s.jpg","crop":{"x":1,"y":2,"w":3,"h":4}}]}`))
	f.Add([]byte(`{"frames":[{"name":"b","file":"b.png","from":"a"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSpec(b, "fuzz.json")
		if err != nil {
			return
		}
		// Whatever parses is safe to act on: names unique, files plain, inputs resolvable.
		seen := map[string]bool{}
		for _, fr := range s.Frames {
			if fr.Name == "" || filepath.Base(fr.File) != fr.File || seen[fr.Name] {
				t.Fatalf("accepted bad frame %+v", fr)
			}
			if fr.From != "" && !seen[fr.From] {
				t.Fatalf("accepted forward reference %+v", fr)
			}
			seen[fr.Name] = true
		}
	})
}
