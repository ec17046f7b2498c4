package tfjs

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

const manifest = `[{"paths":["m.bin"],"weights":[
 {"name":"q","shape":[2,2],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},
 {"name":"f","shape":[2],"dtype":"float32"},
 {"name":"h","shape":[1],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.001,"min":0}}]}]`

func bin() []byte {
	b := []byte{0, 1, 2, 255} // q
	for _, v := range []float32{1.5, -2} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return binary.LittleEndian.AppendUint16(b, 1000) // h
}

func TestParseDequantises(t *testing.T) {
	w, err := Parse("m.json", []byte(manifest), "m.bin", bin())
	if err != nil {
		t.Fatal(err)
	}
	q, err := w.Get("q", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, -0.5, 0, 126.5}
	for i, v := range want {
		if q.Data[i] != v {
			t.Fatalf("q = %v, want %v", q.Data, want)
		}
	}
	f, _ := w.Get("f", 1)
	if f.Data[0] != 1.5 || f.Data[1] != -2 {
		t.Fatalf("f = %v", f.Data)
	}
	h, _ := w.Get("h", 1)
	if math.Abs(float64(h.Data[0])-1) > 1e-6 {
		t.Fatalf("h = %v", h.Data)
	}
	if _, err := w.Get("q", 4); err == nil {
		t.Fatal("wrong rank accepted")
	}
	if _, err := w.Get("nope", 1); err == nil {
		t.Fatal("missing weight accepted")
	}
}

func TestParseRejects(t *testing.T) {
	nan := bin()
	binary.LittleEndian.PutUint32(nan[4:], math.Float32bits(float32(math.NaN())))
	tests := []struct {
		name     string
		manifest string
		bin      []byte
		want     string
	}{
		{"truncated bin", manifest, bin()[:7], "m.bin: truncated: weight \"f\""},
		{"trailing bytes", manifest, append(bin(), 0), "accounts for"},
		{"nan", manifest, nan, "weight \"f\" value 0 is NaN"},
		{"not json", "{", bin(), "m.json: parse weights manifest"},
		{"no groups", "[]", bin(), "lists no weight groups"},
		{"unknown field", strings.Replace(manifest, `"paths"`, `"paths2"`, 1), bin(), "unknown field"},
		{"bad dtype", strings.Replace(manifest, `"name":"f","shape":[2],"dtype":"float32"`, `"name":"f","shape":[2],"dtype":"int32"`, 1), bin(), "dtype \"int32\""},
		{"bad quant", strings.Replace(manifest, `"dtype":"uint16"`, `"dtype":"uint4"`, 1), bin(), "uint4"},
		{"zero dim", strings.Replace(manifest, `"shape":[2,2]`, `"shape":[2,0]`, 1), bin(), "bad shape"},
		{"huge dim", strings.Replace(manifest, `"shape":[2,2]`, `"shape":[99999999,99999999]`, 1), bin(), "bad shape"},
		{"duplicate", strings.Replace(manifest, `"name":"f"`, `"name":"q"`, 1), bin(), "listed twice"},
		{"no scale", strings.Replace(manifest, `"scale":0.5,`, ``, 1), bin(), "without scale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.json", []byte(tc.manifest), "m.bin", tc.bin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// realManifest is the first entry of face-api's recognition manifest, as
// shipped (layout, key order and number formatting).
const realManifest = `[
  {
      "weights":
      [
          {"name":"conv32_down/conv/bias","shape":[32],"dtype":"float32","quantization":{"dtype":"uint8","scale":8.471445956577858e-7,"min":-0.00014740315964445472}}
      ],
      "paths":
      [
          "face_recognition_model.bin"
      ]
  }
]`

func TestParseRealLayout(t *testing.T) {
	b := make([]byte, 32)
	b[31] = 255
	w, err := Parse("m.json", []byte(realManifest), "m.bin", b)
	if err != nil {
		t.Fatal(err)
	}
	bias, err := w.Get("conv32_down/conv/bias", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bias.Data[31], float32(255*8.471445956577858e-7-0.00014740315964445472); got != want {
		t.Fatalf("value 31 = %v, want %v", got, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(manifest), bin())
	f.Add([]byte(realManifest), make([]byte, 32))
	f.Add([]byte(`[{"paths":[],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]`), []byte{0, 0, 128, 63})
	f.Fuzz(func(t *testing.T, m, b []byte) {
		w, err := Parse("m.json", m, "m.bin", b)
		if err != nil {
			return
		}
		n := 0
		for name, tensor := range w {
			if tensor.Len() != len(tensor.Data) || tensor.Name != name {
				t.Fatalf("tensor %q: shape %v holds %d values, data has %d", name, tensor.Shape, tensor.Len(), len(tensor.Data))
			}
			for _, v := range tensor.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("tensor %q holds %v", name, v)
				}
			}
			n += len(tensor.Data)
		}
		if n > len(b) {
			t.Fatalf("%d values from %d bytes", n, len(b))
		}
	})
}
