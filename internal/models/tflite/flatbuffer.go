package tflite

import (
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// reader checks every offset it follows against the buffer.
type reader struct{ b []byte }

// table is a checked flatbuffers table.
type table struct {
	r    *reader
	t    flatbuffers.Table
	vlen int // vtable size in bytes
}

var errBounds = errors.New("offset outside the file (truncated or not a TFLite file)")

func (r *reader) in(pos, n int64) bool { return pos >= 0 && n >= 0 && pos+n <= int64(len(r.b)) }

func (r *reader) root() (table, error) {
	return r.tableAt(int64(flatbuffers.GetUOffsetT(r.b)))
}

// tableAt validates the table at pos and its vtable.
func (r *reader) tableAt(pos int64) (table, error) {
	if pos%4 != 0 || !r.in(pos, 4) {
		return table{}, errBounds
	}
	vt := pos - int64(flatbuffers.GetSOffsetT(r.b[pos:]))
	if !r.in(vt, 4) || vt%2 != 0 {
		return table{}, errBounds
	}
	vlen := int(flatbuffers.GetVOffsetT(r.b[vt:]))
	tlen := int64(flatbuffers.GetVOffsetT(r.b[vt+2:]))
	if vlen < 4 || vlen%2 != 0 || !r.in(vt, int64(vlen)) || !r.in(pos, tlen) {
		return table{}, errBounds
	}
	// every field must lie inside the table's inline size
	for s := 4; s < vlen; s += 2 {
		if off := int64(flatbuffers.GetVOffsetT(r.b[vt+int64(s):])); off != 0 && off+1 > tlen {
			return table{}, errBounds
		}
	}
	return table{r: r, t: flatbuffers.Table{Bytes: r.b, Pos: flatbuffers.UOffsetT(pos)}, vlen: vlen}, nil
}

// field returns the absolute position of field i and whether it is set, after
// checking n bytes fit there.
func (t table) field(i int, n int64) (int64, bool) {
	slot := 4 + 2*i
	if slot >= t.vlen {
		return 0, false
	}
	off := t.t.Offset(flatbuffers.VOffsetT(slot))
	if off == 0 {
		return 0, false
	}
	pos := int64(t.t.Pos) + int64(off)
	if !t.r.in(pos, n) {
		return 0, false
	}
	return pos, true
}

func (t table) u8(i int, def uint8) uint8 {
	if p, ok := t.field(i, 1); ok {
		return t.r.b[p]
	}
	return def
}

func (t table) i8(i int, def int8) int8 { return int8(t.u8(i, uint8(def))) }

func (t table) i32(i int, def int32) int32 {
	if p, ok := t.field(i, 4); ok {
		return flatbuffers.GetInt32(t.r.b[p:])
	}
	return def
}

func (t table) u32(i int, def uint32) uint32 {
	if p, ok := t.field(i, 4); ok {
		return flatbuffers.GetUint32(t.r.b[p:])
	}
	return def
}

func (t table) u64(i int, def uint64) uint64 {
	if p, ok := t.field(i, 8); ok {
		return flatbuffers.GetUint64(t.r.b[p:])
	}
	return def
}

// indirect follows the offset stored in field i.
func (t table) indirect(i int) (int64, bool, error) {
	p, ok := t.field(i, 4)
	if !ok {
		return 0, false, nil
	}
	target := p + int64(flatbuffers.GetUOffsetT(t.r.b[p:]))
	if !t.r.in(target, 4) {
		return 0, false, errBounds
	}
	return target, true, nil
}

func (t table) table(i int) (table, bool, error) {
	p, ok, err := t.indirect(i)
	if err != nil || !ok {
		return table{}, false, err
	}
	tb, err := t.r.tableAt(p)
	return tb, err == nil, err
}

// vector returns the start and length of the vector in field i with elements
// of size elem, checked to fit the file.
func (t table) vector(i int, elem int64) (int64, int, error) {
	p, ok, err := t.indirect(i)
	if err != nil || !ok {
		return 0, 0, err
	}
	n := int64(flatbuffers.GetUint32(t.r.b[p:]))
	if !t.r.in(p+4, n*elem) {
		return 0, 0, fmt.Errorf("vector of %d elements: %w", n, errBounds)
	}
	return p + 4, int(n), nil
}

func (t table) bytes(i int) ([]byte, error) {
	p, n, err := t.vector(i, 1)
	if err != nil || n == 0 {
		return nil, err
	}
	return t.r.b[p : p+int64(n) : p+int64(n)], nil
}

func (t table) str(i int) (string, error) {
	b, err := t.bytes(i)
	return string(b), err
}

func (t table) i32s(i int) ([]int32, error) {
	p, n, err := t.vector(i, 4)
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	for k := range out {
		out[k] = flatbuffers.GetInt32(t.r.b[p+4*int64(k):])
	}
	return out, nil
}

func (t table) f32s(i int) ([]float32, error) {
	p, n, err := t.vector(i, 4)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for k := range out {
		out[k] = flatbuffers.GetFloat32(t.r.b[p+4*int64(k):])
	}
	return out, nil
}

func (t table) i64s(i int) ([]int64, error) {
	p, n, err := t.vector(i, 8)
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	for k := range out {
		out[k] = flatbuffers.GetInt64(t.r.b[p+8*int64(k):])
	}
	return out, nil
}

func (t table) tables(i int) ([]table, error) {
	p, n, err := t.vector(i, 4)
	if err != nil {
		return nil, err
	}
	out := make([]table, n)
	for k := range out {
		q := p + 4*int64(k)
		if out[k], err = t.r.tableAt(q + int64(flatbuffers.GetUOffsetT(t.r.b[q:]))); err != nil {
			return nil, fmt.Errorf("element %d: %w", k, err)
		}
	}
	return out, nil
}
