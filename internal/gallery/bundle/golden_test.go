package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden bundle in testdata/gallery")

// goldenDir holds a small bundle made with a fixed key: a reference for
// central-office implementations of docs/gallery-bundle.md, and a guard
// against accidental format changes (Ed25519 and deterministic protobuf
// make the bytes reproducible).
var goldenDir = filepath.Join("..", "..", "..", "testdata", "gallery")

func goldenBundle(t *testing.T) []byte {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	w, err := NewWriter(Manifest{Version: 1000, Created: created, Expires: created.AddDate(10, 0, 0),
		ModelID: "face-api-1.7.15/face_recognition_model", Dim: 4, Issuer: "laned golden test"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := []*Record{
		{Subject: "alice", Category: "expected-traveller", Templates: [][]float32{{0.5, -0.25, 1, 0}, {0.25, 0.5, -1, 2}},
			Attributes: map[string]string{"doc": "P123"}},
		{Subject: "bob", Category: "watch", Templates: [][]float32{{1, 2, 3, 4}},
			ValidFrom: created, ValidUntil: created.AddDate(1, 0, 0)},
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.Finish(&buf, testKey); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGoldenBundle(t *testing.T) {
	got := goldenBundle(t)
	path := filepath.Join(goldenDir, "golden-v1.bundle")
	if *update {
		os.MkdirAll(goldenDir, 0o755)
		pub := testKey.Public().(ed25519.PublicKey)
		os.WriteFile(path, got, 0o644)
		os.WriteFile(filepath.Join(goldenDir, "golden-v1.pub.hex"), []byte(hex.EncodeToString(pub)+"\n"), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("writer output differs from %s: the bundle format changed", path)
	}
	pubHex, _ := os.ReadFile(filepath.Join(goldenDir, "golden-v1.pub.hex"))
	pub, err := hex.DecodeString(string(bytes.TrimSpace(pubHex)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(bytes.NewReader(want), VerifyOptions{Keys: NewKeyRing(pub), ModelID: "face-api-1.7.15/face_recognition_model", Dim: 4,
		Now: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	if err != nil || m.RecordCount != 2 || m.Version != 1000 {
		t.Fatalf("golden bundle: %+v %v", m, err)
	}
}
