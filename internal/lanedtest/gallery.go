package lanedtest

import (
	"bytes"
	"crypto/ed25519"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
)

// Subject is one gallery subject for Bundle: templates from a seed.
type Subject struct {
	ID   string
	Seed uint64
}

// Bundle returns a full gallery bundle of version v for a recogniser
// (modelID, dim), signed with priv, created an hour before now and
// expiring a week after, holding one random template per subject.
func Bundle(t testing.TB, priv ed25519.PrivateKey, v uint64, modelID string, dim int, now time.Time, subjects ...Subject) []byte {
	t.Helper()
	m := bundle.Manifest{Version: v, Kind: bundle.Full, Created: now.Add(-time.Hour), Expires: now.Add(7 * 24 * time.Hour), ModelID: modelID, Dim: dim}
	w, err := bundle.NewWriter(m, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	subjects = slices.Clone(subjects)
	slices.SortFunc(subjects, func(a, b Subject) int { return strings.Compare(a.ID, b.ID) })
	for _, s := range subjects {
		r := rand.New(rand.NewPCG(s.Seed, 7))
		tm := make([]float32, dim)
		for i := range tm {
			tm[i] = float32(r.NormFloat64())
		}
		if err := w.Add(&bundle.Record{Subject: s.ID, Templates: [][]float32{tm}}); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.Finish(&b, priv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
