package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/vision/imageio"
	"github.com/laned/laned/internal/vision/pipeline"
)

// faceFolders makes a folder-per-identity gallery from the three people of
// sample3: for each, a crop around the face (1.jpg) and the same crop
// mirrored and shrunk (2.jpg), a different capture of the same person.
func faceFolders(t *testing.T, modelDir string) (gallery, probe string) {
	t.Helper()
	src := filepath.Join(modelDir, "face-api", "demo", "sample3.jpg")
	img, err := imageio.Load(src)
	if err != nil {
		t.Skipf("sample photo absent: %v", err)
	}
	defer img.Close()
	p, err := openPipeline("")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := p.Process(img)
	p.Close()
	if err != nil || len(fr.Faces) != 3 {
		t.Fatalf("sample3: %v faces, err %v", len(fr.Faces), err)
	}
	gallery = t.TempDir()
	for i, f := range fr.Faces {
		w, h := f.Box.W(), f.Box.H()
		r := image.Rect(int(f.Box.X0-w/2), int(f.Box.Y0-h/2), int(f.Box.X1+w/2), int(f.Box.Y1+h/2)).Intersect(image.Rect(0, 0, img.Cols(), img.Rows()))
		crop := img.Region(r)
		dir := filepath.Join(gallery, fmt.Sprintf("person%d", i+1))
		os.MkdirAll(dir, 0o755)
		gocv.IMWrite(filepath.Join(dir, "1.jpg"), crop)
		mirrored, small := gocv.NewMat(), gocv.NewMat()
		gocv.Flip(crop, &mirrored, 1)
		gocv.Resize(mirrored, &small, image.Pt(r.Dx()*7/10, r.Dy()*7/10), 0, 0, gocv.InterpolationArea)
		gocv.IMWrite(filepath.Join(dir, "2.jpg"), small)
		mirrored.Close()
		small.Close()
		crop.Close()
	}
	probe = filepath.Join(t.TempDir(), "probe.jpg")
	flipped := gocv.NewMat()
	defer flipped.Close()
	gocv.Flip(img, &flipped, 1)
	gocv.IMWrite(probe, flipped)
	return gallery, probe
}

func TestIdentifyFindsEachPerson(t *testing.T) {
	dir := detectModels(t)
	gallery, probe := faceFolders(t, dir)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"identify", "--json", "--gallery", gallery, probe}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Faces []identifiedFace `json:"faces"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	// Each of the three people is identified, as a distinct person, and no
	// other detection gets an identity. The mirrored photo also holds a
	// door's lock plate that BlazeFace scores 0.61: with the quality gates
	// calibrated on matching (docs/recognition.md; brightness from 25) it
	// passes as usable, and it must then be refused by the gallery, never
	// given the nearest subject.
	seen := map[string]bool{}
	for _, f := range res.Faces {
		if !f.Usable {
			if f.Reason == "" || f.Identity != "" {
				t.Errorf("unusable face %v without a reason, or matched: %+v", f.Box, f)
			}
			continue
		}
		if f.Identity == "" {
			if f.Score > 0.7 {
				t.Errorf("confident face %v not identified: %+v", f.Box, f)
			}
			continue
		}
		if f.Distance == nil || *f.Distance > pipeline.DefaultThreshold {
			t.Errorf("face %v identified beyond the threshold: %+v", f.Box, f)
		}
		if seen[f.Identity] {
			t.Errorf("%s identified twice", f.Identity)
		}
		seen[f.Identity] = true
	}
	if len(seen) != 3 {
		t.Fatalf("%d distinct identities; want 3: %s", len(seen), out.String())
	}
}

// TestEvalRecognitionCommand runs the evaluation end to end on the same
// folders (one enrolment and one probe per person) and checks its JSON
// keys, which tools outside the project read.
func TestEvalRecognitionCommand(t *testing.T) {
	dir := detectModels(t)
	gallery, _ := faceFolders(t, dir)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"eval", "recognition", "--dataset", gallery, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m map[string]float64
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"identities", "probes", "rank1", "threshold", "fnir", "fpir", "fta", "fte", "ms_per_probe"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q: %s", k, out.String())
		}
	}
	if len(m) != 9 {
		t.Errorf("JSON has %d keys, want exactly the 9 documented: %s", len(m), out.String())
	}
	// FPIR is not asserted: these three people, photographed together,
	// are closer to each other than the threshold allows (see
	// pipeline.DefaultThreshold); the acceptance figure is measured on the
	// johns set by .ci/run.
	if m["identities"] != 3 || m["probes"] != 3 || m["rank1"] != 1 || m["fnir"] != 0 || m["fta"] != 0 {
		t.Errorf("figures %v, want 3 identities, 3 probes, rank1 1, fnir 0, fta 0", m)
	}
}
