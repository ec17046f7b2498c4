package tfjs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Tensor is one dequantised weight.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Len is the number of values the shape holds.
func (t *Tensor) Len() int { return shapeLen(t.Shape) }

// Weights is the set of tensors of one model, by name.
type Weights map[string]*Tensor

// Get returns the tensor called name with the given rank, or an error.
func (w Weights) Get(name string, rank int) (*Tensor, error) {
	t, ok := w[name]
	if !ok {
		return nil, fmt.Errorf("weight %q missing", name)
	}
	if len(t.Shape) != rank {
		return nil, fmt.Errorf("weight %q has shape %v, want rank %d", name, t.Shape, rank)
	}
	return t, nil
}

type manifestGroup struct {
	Paths   []string      `json:"paths"`
	Weights []weightEntry `json:"weights"`
}

type weightEntry struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	Dtype        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

type quantization struct {
	Dtype string   `json:"dtype"`
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

// maxValues bounds one model's weights (far above any face model, far
// below what would exhaust memory on a booth computer).
const maxValues = 64 << 20

// Parse reads a weights manifest and the concatenation of the shards it
// lists (in manifest order). manifestName and binName name the files in
// errors.
func Parse(manifestName string, manifest []byte, binName string, bin []byte) (Weights, error) {
	var groups []manifestGroup
	dec := json.NewDecoder(bytes.NewReader(manifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		return nil, fmt.Errorf("%s: parse weights manifest: %w", manifestName, err)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("%s: weights manifest lists no weight groups", manifestName)
	}
	w := Weights{}
	off, total := 0, 0
	for _, g := range groups {
		for _, e := range g.Weights {
			if e.Name == "" {
				return nil, fmt.Errorf("%s: weight with no name", manifestName)
			}
			if _, dup := w[e.Name]; dup {
				return nil, fmt.Errorf("%s: weight %q listed twice", manifestName, e.Name)
			}
			n := shapeLen(e.Shape)
			if n < 0 {
				return nil, fmt.Errorf("%s: weight %q: bad shape %v", manifestName, e.Name, e.Shape)
			}
			if total += n; total > maxValues {
				return nil, fmt.Errorf("%s: more than %d weight values", manifestName, maxValues)
			}
			size, decode, err := decoder(e)
			if err != nil {
				return nil, fmt.Errorf("%s: weight %q: %w", manifestName, e.Name, err)
			}
			end := off + n*size
			if end > len(bin) {
				return nil, fmt.Errorf("%s: truncated: weight %q needs bytes %d..%d, file has %d", binName, e.Name, off, end, len(bin))
			}
			data := make([]float32, n)
			for i := range data {
				v := decode(bin[off+i*size:])
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, fmt.Errorf("%s: weight %q value %d is %v", binName, e.Name, i, v)
				}
				data[i] = v
			}
			w[e.Name] = &Tensor{Name: e.Name, Shape: append([]int(nil), e.Shape...), Data: data}
			off = end
		}
	}
	if off != len(bin) {
		return nil, fmt.Errorf("%s: %d bytes, the manifest %s accounts for %d", binName, len(bin), manifestName, off)
	}
	return w, nil
}

func shapeLen(shape []int) int {
	n := 1
	for _, d := range shape {
		if d <= 0 || d > maxValues || n > maxValues/d {
			return -1
		}
		n *= d
	}
	return n
}

func decoder(e weightEntry) (int, func([]byte) float32, error) {
	if e.Dtype != "float32" {
		return 0, nil, fmt.Errorf("dtype %q not supported (want float32)", e.Dtype)
	}
	q := e.Quantization
	if q == nil {
		return 4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }, nil
	}
	if q.Scale == nil || q.Min == nil {
		return 0, nil, errors.New("quantised without scale and min")
	}
	scale, lo := *q.Scale, *q.Min
	if math.IsNaN(scale) || math.IsInf(scale, 0) || math.IsNaN(lo) || math.IsInf(lo, 0) {
		return 0, nil, errors.New("quantisation scale or min is not finite")
	}
	switch q.Dtype {
	case "uint8":
		return 1, func(b []byte) float32 { return float32(float64(b[0])*scale + lo) }, nil
	case "uint16":
		return 2, func(b []byte) float32 { return float32(float64(binary.LittleEndian.Uint16(b))*scale + lo) }, nil
	}
	return 0, nil, fmt.Errorf("quantisation dtype %q not supported (want uint8 or uint16)", q.Dtype)
}
