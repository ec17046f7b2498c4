package jpegcheck_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"

	"github.com/laned/laned/internal/vision/jpegcheck"
)

func encode(t testing.TB, w, h int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPrepareAddsStandardTables(t *testing.T) {
	full := encode(t, 48, 32)
	bare, err := jpegcheck.StripDHT(full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(bare)); err == nil {
		t.Fatal("image/jpeg decoded a frame without Huffman tables; the test proves nothing")
	}
	out, info, _, err := jpegcheck.Prepare(bare, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.HasDHT || info.Width != 48 || info.Height != 32 || info.Components != 1 {
		t.Errorf("info %+v", info)
	}
	a, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("prepared frame: %v", err)
	}
	b, _ := jpeg.Decode(bytes.NewReader(full))
	if !bytes.Equal(a.(*image.Gray).Pix, b.(*image.Gray).Pix) {
		t.Error("prepared frame decodes differently from the original")
	}
	// A frame that has tables is passed through without a copy.
	same, info2, _, err := jpegcheck.Prepare(full, nil)
	if err != nil || !info2.HasDHT || &same[0] != &full[0] {
		t.Errorf("frame with tables: copied or refused (%v)", err)
	}
}

func TestCheckRefuses(t *testing.T) {
	good := encode(t, 16, 16)
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := map[string][]byte{
		"empty":         nil,
		"SOI only":      {0xFF, 0xD8},
		"truncated":     good[:len(good)-10],
		"no EOI":        good[:len(good)-2],
		"garbage":       []byte("hello world, not a jpeg"),
		"bad length":    with(func(b []byte) []byte { b[4], b[5] = 0, 1; return b }),
		"RST in header": with(func(b []byte) []byte { b[3] = 0xD0; return b }),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := jpegcheck.Check(data); !errors.Is(err, jpegcheck.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	// Trailing padding after EOI (some cameras fill the buffer) is fine.
	padded := append(append([]byte(nil), good...), 0, 0, 0, 0)
	if info, err := jpegcheck.Check(padded); err != nil || info.End != len(good) {
		t.Errorf("padded frame: %v, end %d of %d", err, info.End, len(good))
	}
}

func FuzzCheck(f *testing.F) {
	good := encode(f, 16, 8)
	bare, _ := jpegcheck.StripDHT(good)
	f.Add(good)
	f.Add(bare)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := jpegcheck.Check(data)
		if err != nil {
			if !errors.Is(err, jpegcheck.ErrCorrupt) {
				t.Fatalf("error not wrapping ErrCorrupt: %v", err)
			}
			return
		}
		if info.End > len(data) || info.SOS >= info.End || info.Width <= 0 || info.Height <= 0 {
			t.Fatalf("inconsistent info %+v for %d bytes", info, len(data))
		}
		out, _, _, err := jpegcheck.Prepare(data, nil)
		if err != nil {
			t.Fatalf("Prepare refused what Check accepted: %v", err)
		}
		if _, err := jpegcheck.Check(out); err != nil {
			t.Fatalf("prepared frame fails Check: %v", err)
		}
		// image/jpeg must not panic on anything that passed.
		_, _ = jpeg.Decode(bytes.NewReader(out))
	})
}
