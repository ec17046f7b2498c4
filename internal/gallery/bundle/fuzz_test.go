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

// FuzzScanRecord checks the start-up scanner against the full decoder:
// whatever DecodeRecord accepts, ScanRecord reads the same way.
func FuzzScanRecord(f *testing.F) {
	for _, r := range someRecords(3) {
		b, _ := MarshalRecord(r)
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0x01, 'a', 0x12, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, derr := DecodeRecord(b, 4, Full)
		sc, flat, serr := ScanRecord(b, 4, nil)
		if derr != nil {
			return // ScanRecord may be laxer about fields it skips
		}
		if serr != nil {
			t.Fatalf("DecodeRecord accepted, ScanRecord refused: %v", serr)
		}
		if sc.Subject != rec.Subject || sc.Templates != len(rec.Templates) || len(flat) != 4*len(rec.Templates) {
			t.Fatalf("scan %+v vs decode %+v", sc, rec)
		}
		for i, tp := range rec.Templates {
			for j, x := range tp {
				if flat[4*i+j] != x && !(x != x) {
					t.Fatalf("template %d value %d differs", i, j)
				}
			}
		}
	})
}
