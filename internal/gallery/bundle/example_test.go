package bundle_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
)

func ExampleVerify() {
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	w, err := bundle.NewWriter(bundle.Manifest{
		Version: 42, Created: now, Expires: now.Add(48 * time.Hour),
		ModelID: "face-api-1.7.15/face_recognition_model", Dim: 3,
	}, "")
	if err != nil {
		panic(err)
	}
	w.Add(&bundle.Record{Subject: "alice", Category: "expected-traveller", Templates: [][]float32{{0.1, 0.2, 0.3}}})
	w.Add(&bundle.Record{Subject: "bob", Category: "watch", Templates: [][]float32{{0.3, 0.2, 0.1}, {0.3, 0.1, 0.2}}})
	var file bytes.Buffer
	if _, err := w.Finish(&file, priv); err != nil {
		panic(err)
	}

	m, err := bundle.Verify(&file, bundle.VerifyOptions{
		Keys:    bundle.NewKeyRing(pub),
		ModelID: "face-api-1.7.15/face_recognition_model", Dim: 3, Now: now,
	})
	fmt.Println(m.Version, m.Kind, m.RecordCount, err)
	// Output: 42 full 2 <nil>
}
