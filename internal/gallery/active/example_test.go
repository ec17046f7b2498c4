package active_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/store"
)

// A lane before and after its first gallery: the snapshot is never nil,
// and a transaction pins one for all its searches.
func ExampleGallery() {
	dir, _ := os.MkdirTemp("", "active")
	defer os.RemoveAll(dir)
	key, _ := store.NewKey(bytes.Repeat([]byte{1}, store.KeySize))
	st, _ := store.Open(filepath.Join(dir, "gallery.db"), store.Options{Key: key, Log: slog.New(slog.DiscardHandler)})
	defer st.Close()
	pub, priv, _ := ed25519.GenerateKey(nil)
	g, _ := active.New(active.Options{Store: st, ModelID: "demo", Dim: 2, Keys: bundle.NewKeyRing(pub), Log: slog.New(slog.DiscardHandler)})

	res, err := g.Search([]float32{1, 0}, 1)
	fmt.Println("before:", res.Version, len(res.Results), err)

	now := time.Now()
	w, _ := bundle.NewWriter(bundle.Manifest{Version: 7, Created: now, Expires: now.Add(72 * time.Hour), ModelID: "demo", Dim: 2}, dir)
	w.Add(&bundle.Record{Subject: "alice", Templates: [][]float32{{1, 0}}})
	var b bytes.Buffer
	w.Finish(&b, priv)
	g.Import(context.Background(), &b, "uid:1000")

	snap := g.Current() // pinned by a transaction
	r, _ := snap.Search([]float32{0.9, 0.1}, 1)
	fmt.Println("after:", snap.Version(), snap.Subjects(), r[0].Subject)
	// Output:
	// before: none 0 <nil>
	// after: 7 1 alice
}
