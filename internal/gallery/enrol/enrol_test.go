package enrol

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/vision"
)

var errNoFace = errors.New("no face found")

// fileEnroller reads the first byte of a photo: 'F' is a face, anything
// else has none. It stands in for the face pipeline at this seam only.
type fileEnroller struct{}

func (fileEnroller) EnrollFile(p string) (vision.Embedding, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != 'F' {
		return nil, errNoFace
	}
	return vision.Embedding{float32(len(b)), 1, 2}, nil
}

func TestFromDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"bob/1.jpg":   "F",
		"bob/2.png":   "x",    // no face
		"alice/a.jpg": "FF",   // ok
		"alice/b.JPG": "FFF",  // ok
		"alice/c.txt": "note", // not an image
		"carol/1.jpg": "x",    // carol has no usable photo
		"stray.jpg":   "F",    // not in a subject folder
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	subs, rej, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 3 || subs[0].ID != "alice" || len(subs[0].Photos) != 2 {
		t.Fatalf("scan: %+v", subs)
	}
	if len(rej) != 2 {
		t.Fatalf("scan rejected %+v", rej)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	w, err := bundle.NewWriter(bundle.Manifest{Version: 1, Created: now, Expires: now.Add(time.Hour), ModelID: "m", Dim: 3}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	rep, err := FromDir(context.Background(), subs, fileEnroller{}, w, Options{Category: "watch", Progress: func(int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Subjects != 2 || rep.Templates != 3 || rep.Photos != 5 || calls != 5 {
		t.Fatalf("report %+v, %d progress calls", rep, calls)
	}
	var reasons []string
	for _, r := range rep.Rejected {
		reasons = append(reasons, filepath.Base(r.Path)+": "+r.Err.Error())
	}
	got := strings.Join(reasons, "; ")
	if got != "2.png: no face found; 1.jpg: no face found; carol: subject left out: no usable photo" {
		t.Fatalf("rejected: %s", got)
	}
	var buf bytes.Buffer
	m, err := w.Finish(&buf, priv)
	if err != nil || m.RecordCount != 2 {
		t.Fatalf("finish: %+v %v", m, err)
	}
}
