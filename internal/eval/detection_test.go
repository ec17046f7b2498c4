package eval

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/laned/laned/internal/vision"
)

func box(x, y, w, h float32) vision.Box { return vision.Box{X0: x, Y0: y, X1: x + w, Y1: y + h} }

func TestMatchBoxes(t *testing.T) {
	face := func(x, y, w, h float32) LabelledBox { return LabelledBox{Box: box(x, y, w, h)} }
	tests := []struct {
		name                             string
		truth                            []LabelledBox
		dets                             []vision.Box
		faces, found, detected, falsePos int
	}{
		{"exact", []LabelledBox{face(0, 0, 10, 10)}, []vision.Box{box(0, 0, 10, 10)}, 1, 1, 1, 0},
		{"miss", []LabelledBox{face(0, 0, 10, 10)}, nil, 1, 0, 0, 0},
		{"far", []LabelledBox{face(0, 0, 10, 10)}, []vision.Box{box(50, 50, 10, 10)}, 1, 0, 1, 1},
		// IoU of a 10x10 box and the same shifted by 3: 70/130 = 0.54
		{"shifted above threshold", []LabelledBox{face(0, 0, 10, 10)}, []vision.Box{box(3, 0, 10, 10)}, 1, 1, 1, 0},
		// shifted by 5: 50/150 = 0.33 < 0.4
		{"shifted below threshold", []LabelledBox{face(0, 0, 10, 10)}, []vision.Box{box(5, 0, 10, 10)}, 1, 0, 1, 1},
		{"duplicate detection", []LabelledBox{face(0, 0, 10, 10)}, []vision.Box{box(0, 0, 10, 10), box(1, 0, 10, 10)}, 1, 1, 2, 1},
		// greedy by IoU: the better pair is taken first, the other face
		// still gets its own detection
		{"greedy", []LabelledBox{face(0, 0, 10, 10), face(4, 0, 10, 10)}, []vision.Box{box(4, 0, 10, 10), box(1, 0, 10, 10)}, 2, 2, 2, 0},
		{"ignore absorbs", []LabelledBox{{Box: box(0, 0, 10, 10), Ignore: true}}, []vision.Box{box(0, 0, 10, 10)}, 0, 0, 1, 0},
		{"ignore does not steal", []LabelledBox{{Box: box(0, 0, 10, 10), Ignore: true}, face(1, 0, 10, 10)}, []vision.Box{box(0, 0, 10, 10)}, 1, 1, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := MatchBoxes(tc.truth, tc.dets, 0.4)
			if r.Faces != tc.faces || r.Found != tc.found || r.Detected != tc.detected || r.FalsePositives != tc.falsePos {
				t.Errorf("got faces %d found %d detected %d fp %d, want %d %d %d %d",
					r.Faces, r.Found, r.Detected, r.FalsePositives, tc.faces, tc.found, tc.detected, tc.falsePos)
			}
		})
	}
}

type fakeDetector map[string][]vision.Box

func (f fakeDetector) DetectFile(p string) ([]vision.Box, error) {
	b, ok := f[p]
	if !ok {
		return nil, errors.New("image " + p + ": no such file")
	}
	return b, nil
}

func TestEvaluateDetection(t *testing.T) {
	ds := &Dataset{Images: []LabelledImage{
		{Path: "a", Boxes: []LabelledBox{{Box: box(0, 0, 10, 10)}, {Box: box(20, 0, 10, 10)}}},
		{Path: "b", Boxes: []LabelledBox{{Box: box(0, 0, 10, 10)}}},
	}}
	det := fakeDetector{
		"a": {box(0, 0, 10, 10), box(100, 100, 5, 5)},
		"b": {box(0, 0, 10, 10)},
	}
	res, err := EvaluateDetection(ds, det, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 2 || res.Faces != 3 || math.Abs(res.Recall-2.0/3) > 1e-9 ||
		math.Abs(res.Precision-2.0/3) > 1e-9 || res.FalsePositivesPerImage != 0.5 {
		t.Errorf("got %+v", res)
	}
	js, _ := json.Marshal(res)
	var keys map[string]any
	json.Unmarshal(js, &keys)
	for _, k := range []string{"images", "faces", "recall", "precision", "false_positives_per_image", "ms_per_image"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("json %s lacks key %q", js, k)
		}
	}
	if len(keys) != 6 {
		t.Errorf("json %s has extra keys", js)
	}

	ds.Images = append(ds.Images, LabelledImage{Path: "missing"})
	if _, err := EvaluateDetection(ds, det, 0.4); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("bad image: err %v", err)
	}
	if _, err := EvaluateDetection(ds, det, 0); err == nil {
		t.Error("iou 0 accepted")
	}
}
