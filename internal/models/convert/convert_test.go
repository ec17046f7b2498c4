package convert

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/laned/laned/internal/models"
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

// TestConversionMatchesManifestPin: the set-up verifies the converted model
// against the sha256 pinned in models/manifest.json, so a converter change
// that alters the bytes must come with a new pin (and a passing golden test).
func TestConversionMatchesManifestPin(t *testing.T) {
	manifest, bin := sourceWeights(t)
	model, err := FaceRecognition(manifest, bin)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%x", sha256.Sum256(model))
	for _, c := range m.Converted {
		if c.Converter != "face-recognition" {
			continue
		}
		if c.SHA256 == "" {
			t.Skip("manifest pins no checksum for the converted recogniser")
		}
		if c.SHA256 != got {
			t.Fatalf("converted model sha256 %s, manifest pins %s: update the pin after the golden test passes", got, c.SHA256)
		}
		return
	}
	t.Fatal("manifest lists no face-recognition conversion")
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
		{"missing layer", rename("conv64_2/conv1/conv/filters", "conv64_2/conv1/conv/filterz"), bin, `face_recognition_model-weights_manifest.json: conv64_2: weight "conv64_2/conv1/conv/filters" missing`},
		{"wrong shape", []byte(strings.Replace(string(manifest), `"shape":[3,3,256,256]`, `"shape":[3,3,128,512]`, 1)), bin, "filters take 128 channels, activation has 256"},
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
	// The two files of @vladmandic/face-api@1.7.15's model/ folder.
	manifest, err := os.ReadFile("face_recognition_model-weights_manifest.json")
	if err != nil {
		log.Fatal(err)
	}
	bin, err := os.ReadFile("face_recognition_model.bin")
	if err != nil {
		log.Fatal(err)
	}
	model, err := FaceRecognition(manifest, bin)
	if err != nil {
		log.Fatal(err) // names the file and tensor that does not fit
	}
	// Same weights, same bytes: the result can be pinned by sha256.
	if err := os.WriteFile("face_recognition.onnx", model, 0o644); err != nil {
		log.Fatal(err)
	}
}
