package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/laned/laned/internal/models/onnx"
)

func TestConversionIsDeterministicAndWellFormed(t *testing.T) {
	manifest, bin := sourceWeights(t)
	a, err := FaceRecognition(manifest, bin)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FaceRecognition(manifest, bin)
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same weights differ")
	}
	m, err := onnx.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.Graph.Node {
		ops[n.OpType]++
	}
	// 1 + 14 residual stages × 2 convolutions; 4 down-sampling stages.
	want := map[string]int{"Conv": 29, "AveragePool": 4, "Add": 14, "MaxPool": 1, "Gemm": 1, "GlobalAveragePool": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d %s nodes, want %d (all: %v)", ops[op], op, n, ops)
		}
	}
}

// TestConversionRejectsForeignWeights: weights that do not fit the net are
// an error naming the tensor, not a model that computes something else.
func TestConversionRejectsForeignWeights(t *testing.T) {
	manifest, bin := sourceWeights(t)
	var groups []map[string]any
	if err := json.Unmarshal(manifest, &groups); err != nil {
		t.Fatal(err)
	}
	rename := func(from, to string) []byte {
		s := strings.Replace(string(manifest), `"`+from+`"`, `"`+to+`"`, 1)
		return []byte(s)
	}
	tests := []struct {
		name     string
		manifest []byte
		bin      []byte
		want     string
	}{
		{"missing layer", rename("conv64_2/conv1/conv/filters", "conv64_2/conv1/conv/filterz"), bin, `weight "conv64_2/conv1/conv/filters" missing`},
		{"truncated", manifest, bin[:len(bin)-10], "truncated"},
		{"empty", []byte("[]"), nil, "no weight groups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FaceRecognition(tc.manifest, tc.bin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func ExampleFaceRecognition() {
	// manifest and bin are face_recognition_model-weights_manifest.json and
	// face_recognition_model.bin from @vladmandic/face-api@1.7.15.
	var manifest, bin []byte
	model, err := FaceRecognition(manifest, bin)
	fmt.Println(len(model), err != nil)
	// Output: 0 true
}
