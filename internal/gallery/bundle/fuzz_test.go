package bundle

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary files to the lane's reader. Seeds are signed
// with the test key, so the fuzzer can also reach the records parser by
// mutating only the records section.
func FuzzReader(f *testing.F) {
	good := buildBundle(f, testManifest(2), someRecords(3))
	f.Add(good)
	f.Add(good[:len(good)-7])
	delta := testManifest(3)
	delta.Kind, delta.BaseVersion = Delta, 2
	f.Add(buildBundle(f, delta, []*Record{{Subject: "a", Remove: true}, {Subject: "b", Templates: [][]float32{vec(1)}}}))
	f.Add([]byte(Magic))
	opts := testOpts()
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), opts)
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				return
			}
			if uint64(i) >= r.Manifest().RecordCount || rec.Subject == "" {
				t.Fatalf("record %d of %d: %+v", i, r.Manifest().RecordCount, rec)
			}
			for _, tp := range rec.Templates {
				if len(tp) != opts.Dim {
					t.Fatalf("template of %d", len(tp))
				}
			}
		}
	})
}

// FuzzManifest feeds arbitrary bytes as a manifest that verifies (the
// fuzzer holds the signing key), so the manifest parser and its checks
// see everything.
func FuzzManifest(f *testing.F) {
	good := buildBundle(f, testManifest(2), someRecords(1))
	ml := int(good[20]) | int(good[21])<<8
	f.Add(good[headerSize : headerSize+ml])
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01})
	keys := testOpts().Keys
	f.Fuzz(func(t *testing.T, mb []byte) {
		if len(mb) == 0 || len(mb) > maxManifest {
			return
		}
		var buf bytes.Buffer
		buf.Write(good[:20])
		buf.Write([]byte{byte(len(mb)), byte(len(mb) >> 8), byte(len(mb) >> 16), 0})
		buf.Write(mb)
		buf.Write(signManifest(mb))
		m, err := ReadHeader(&buf, keys)
		if err == nil && (m.Version == 0 || m.Dim <= 0 || !m.Expires.After(m.Created)) {
			t.Fatalf("accepted manifest %+v", m)
		}
	})
}
