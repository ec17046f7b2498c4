package boltcheck

import (
	"encoding/binary"
	"io"
	"os"
)

// maxScanPage bounds one page image read by Scan (a page and its overflow).
const maxScanPage = 64 << 20

// Scan reads every page of the damaged bbolt file r (size bytes), valid
// tree or not, and calls fn for every key/value of every leaf page and
// inline bucket whose bounds check out (bucket entries themselves are not
// passed). Pages are those of the page size in a valid meta page, else
// the OS page size. Old copies of pages (free pages) are scanned too: the
// caller must recognise its records (checksums) and expect duplicates.
// fn's slices are valid only during the call.
func Scan(r io.ReaderAt, size int64, fn func(key, value []byte)) {
	ps := int64(os.Getpagesize())
	if m, err := readMeta(r, 0); err == nil {
		ps = int64(m.PageSize)
	} else if m, err := readMeta(r, ps); err == nil {
		ps = int64(m.PageSize)
	}
	var hb [pageHeaderSize]byte
	for id := int64(2); (id+1)*ps <= size; id++ {
		if _, err := r.ReadAt(hb[:], id*ps); err != nil {
			return
		}
		h := parseHeader(hb[:])
		if h.flags != flagLeaf || h.id != uint64(id) {
			continue
		}
		n := (int64(h.overflow) + 1) * ps
		if n > maxScanPage || id*ps+n > size {
			n = ps // overflow damaged: what fits in the first page
		}
		buf := make([]byte, n)
		if _, err := r.ReadAt(buf, id*ps); err != nil {
			continue
		}
		scanLeaf(buf, h, fn, 0)
	}
}

func scanLeaf(buf []byte, h pageHeader, fn func(k, v []byte), depth int) {
	end := pageHeaderSize + int64(h.count)*elemSize
	if end > int64(len(buf)) || depth > maxDepth {
		return
	}
	for i := range int64(h.count) {
		base := pageHeaderSize + i*elemSize
		e := buf[base:]
		flags := binary.LittleEndian.Uint32(e[0:])
		start := base + int64(binary.LittleEndian.Uint32(e[4:]))
		ksize := int64(binary.LittleEndian.Uint32(e[8:]))
		vsize := int64(binary.LittleEndian.Uint32(e[12:]))
		if start < end || start+ksize+vsize > int64(len(buf)) {
			continue
		}
		k, v := buf[start:start+ksize], buf[start+ksize:start+ksize+vsize]
		if flags&bucketLeafFlag == 0 {
			fn(k, v)
			continue
		}
		if len(v) >= bucketHeader+pageHeaderSize && binary.LittleEndian.Uint64(v) == 0 {
			inline := v[bucketHeader:]
			if ih := parseHeader(inline); ih.flags == flagLeaf {
				scanLeaf(inline, ih, fn, depth+1)
			}
		}
	}
}
