package store_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
)

func ExampleStore_Import() {
	dir, _ := os.MkdirTemp("", "gallery")
	defer os.RemoveAll(dir)

	// Central office: a signed bundle of two subjects.
	pub, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	w, _ := bundle.NewWriter(bundle.Manifest{Version: 7, Created: now, Expires: now.Add(72 * time.Hour), ModelID: "demo", Dim: 2}, dir)
	w.Add(&bundle.Record{Subject: "alice", Templates: [][]float32{{1, 0}}})
	w.Add(&bundle.Record{Subject: "bob", Templates: [][]float32{{0, 1}}})
	var file bytes.Buffer
	w.Finish(&file, priv)

	// Lane: an encrypted store, the bundle imported, an index built.
	keyPath := filepath.Join(dir, "gallery.key")
	store.GenerateKeyFile(keyPath)
	key, _ := store.LoadKeyFile(keyPath)
	s, err := store.Open(filepath.Join(dir, "gallery.db"), store.Options{Key: key})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	m, err := s.Import(context.Background(), &file, bundle.VerifyOptions{
		Keys: bundle.NewKeyRing(pub), ModelID: "demo", Dim: 2, Now: now,
	})
	fmt.Println("imported version", m.Version, err)

	ix, _, _ := s.LoadIndex(context.Background(), "demo", 2, now)
	res, _ := ix.Search([]float32{0.1, 0.9}, 1)
	fmt.Println(res[0].Subject)
	// Output:
	// imported version 7 <nil>
	// bob
}
