package boltcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk layout (go.etcd.io/bbolt/internal/common).
const (
	magic          = 0xED0CDAED
	version        = 2
	pageHeaderSize = 16
	elemSize       = 16 // branch and leaf elements are both 16 bytes
	metaSize       = 64
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagMeta       = 0x04
	flagFreelist   = 0x10
	bucketLeafFlag = 0x01
	bucketHeader   = 16 // root pgid, sequence
	noFreelist     = 0xffffffffffffffff
	minPageSize    = 512
	maxPageSize    = 64 << 10
	maxDepth       = 64
)

// ErrDamaged is wrapped by every error about the file's content.
var ErrDamaged = errors.New("damaged bbolt file")

// Meta is the meta page bbolt would use.
type Meta struct {
	PageSize uint32
	Root     uint64 // root bucket page
	Freelist uint64
	HighPage uint64 // high water mark: first page id past the data
	TxID     uint64
}

func damaged(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, a...))
}

// readMeta decodes the meta page at off; it returns an error when the
// page is not a valid meta page.
func readMeta(r io.ReaderAt, off int64) (Meta, error) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return Meta{}, damaged("meta page at %d: %v", off, err)
	}
	if f := binary.LittleEndian.Uint16(b[8:]); f != flagMeta {
		return Meta{}, damaged("meta page at %d: page flags %#x", off, f)
	}
	m := b[pageHeaderSize:]
	if v := binary.LittleEndian.Uint32(m[0:]); v != magic {
		return Meta{}, damaged("meta page at %d: magic %#x", off, v)
	}
	if v := binary.LittleEndian.Uint32(m[4:]); v != version {
		return Meta{}, damaged("meta page at %d: version %d", off, v)
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if got, want := h.Sum64(), binary.LittleEndian.Uint64(m[56:]); got != want {
		return Meta{}, damaged("meta page at %d: checksum %#x, want %#x", off, got, want)
	}
	meta := Meta{
		PageSize: binary.LittleEndian.Uint32(m[8:]),
		Root:     binary.LittleEndian.Uint64(m[16:]),
		Freelist: binary.LittleEndian.Uint64(m[32:]),
		HighPage: binary.LittleEndian.Uint64(m[40:]),
		TxID:     binary.LittleEndian.Uint64(m[48:]),
	}
	if ps := meta.PageSize; ps < minPageSize || ps > maxPageSize || ps&(ps-1) != 0 {
		return Meta{}, damaged("meta page at %d: page size %d", off, ps)
	}
	return meta, nil
}

// CheckFile opens path read-only and runs Check. A missing or empty file
// is not damaged (bbolt creates it): CheckFile returns nil for both.
func CheckFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() == 0 {
		return nil
	}
	if _, err := Check(f, st.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Check validates the bbolt file r of size bytes and returns the meta page
// bbolt will use. Errors wrap ErrDamaged.
func Check(r io.ReaderAt, size int64) (Meta, error) {
	if size < 4*minPageSize {
		return Meta{}, damaged("%d bytes, too short for a bbolt file", size)
	}
	m0, err0 := readMeta(r, 0)
	ps := int64(m0.PageSize)
	if err0 != nil {
		ps = int64(os.Getpagesize()) // bbolt's own fallback for page 1
	}
	m1, err1 := readMeta(r, ps)
	var m Meta
	switch {
	case err0 != nil && err1 != nil:
		return Meta{}, fmt.Errorf("both meta pages invalid: %w; %v", err0, err1)
	case err0 != nil:
		m = m1
	case err1 != nil:
		m = m0
	case m1.TxID > m0.TxID:
		m = m1
	default:
		m = m0
	}
	// bbolt falls back to the other meta page only when the newer one is
	// invalid, so the one chosen must describe a sound file.
	if err := checkTree(r, size, m); err != nil {
		return m, err
	}
	return m, nil
}

// walker reads pages of one file.
type walker struct {
	r       io.ReaderAt
	m       Meta
	size    int64
	visited map[uint64]bool
}

func checkTree(r io.ReaderAt, size int64, m Meta) error {
	ps := int64(m.PageSize)
	if m.HighPage < 4 || m.HighPage > uint64(size/ps) {
		return damaged("high water mark page %d needs %d bytes, the file has %d (truncated?)", m.HighPage, int64(m.HighPage)*ps, size)
	}
	w := &walker{r: r, m: m, size: size, visited: map[uint64]bool{}}
	if m.Freelist != noFreelist {
		if m.Freelist < 2 || m.Freelist >= m.HighPage {
			return damaged("freelist page %d outside 2..%d", m.Freelist, m.HighPage-1)
		}
		hdr, err := w.header(m.Freelist)
		if err != nil {
			return err
		}
		if hdr.flags != flagFreelist {
			return damaged("freelist page %d has flags %#x", m.Freelist, hdr.flags)
		}
	}
	return w.walk(m.Root, 0)
}

type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func parseHeader(b []byte) pageHeader {
	return pageHeader{
		id:       binary.LittleEndian.Uint64(b[0:]),
		flags:    binary.LittleEndian.Uint16(b[8:]),
		count:    binary.LittleEndian.Uint16(b[10:]),
		overflow: binary.LittleEndian.Uint32(b[12:]),
	}
}

func (w *walker) header(id uint64) (pageHeader, error) {
	var b [pageHeaderSize]byte
	if _, err := w.r.ReadAt(b[:], int64(id)*int64(w.m.PageSize)); err != nil {
		return pageHeader{}, damaged("page %d: %v", id, err)
	}
	return parseHeader(b[:]), nil
}

// walk checks the B+tree page id of one bucket and every bucket below it.
func (w *walker) walk(id uint64, depth int) error {
	if depth > maxDepth {
		return damaged("page %d: tree deeper than %d", id, maxDepth)
	}
	if id < 2 || id >= w.m.HighPage {
		return damaged("page reference %d outside 2..%d", id, w.m.HighPage-1)
	}
	if w.visited[id] {
		return damaged("page %d referenced twice", id)
	}
	w.visited[id] = true
	h, err := w.header(id)
	if err != nil {
		return err
	}
	if h.id != id {
		return damaged("page %d says it is page %d", id, h.id)
	}
	if h.flags != flagBranch && h.flags != flagLeaf {
		return damaged("page %d: flags %#x, not a branch or leaf page", id, h.flags)
	}
	if id+uint64(h.overflow) >= w.m.HighPage {
		return damaged("page %d: %d overflow pages run past page %d", id, h.overflow, w.m.HighPage)
	}
	n := int64(h.overflow+1) * int64(w.m.PageSize)
	buf := make([]byte, n)
	if _, err := w.r.ReadAt(buf, int64(id)*int64(w.m.PageSize)); err != nil {
		return damaged("page %d: %v", id, err)
	}
	return w.elements(buf, h, id, depth)
}

// elements checks the elements of one page image (a page read from the
// file, or an inline bucket's page inside a value).
func (w *walker) elements(buf []byte, h pageHeader, id uint64, depth int) error {
	if h.count == 0 && h.flags == flagBranch {
		return damaged("page %d: empty branch page", id)
	}
	end := pageHeaderSize + int(h.count)*elemSize
	if end > len(buf) {
		return damaged("page %d: %d elements do not fit %d bytes", id, h.count, len(buf))
	}
	for i := range int(h.count) {
		e := buf[pageHeaderSize+i*elemSize:]
		base := pageHeaderSize + i*elemSize
		if h.flags == flagBranch {
			pos, ksize := int(binary.LittleEndian.Uint32(e[0:])), int(binary.LittleEndian.Uint32(e[4:]))
			if pos < 0 || ksize < 0 || base+pos+ksize > len(buf) || base+pos < end {
				return damaged("page %d: branch element %d out of bounds", id, i)
			}
			if err := w.walk(binary.LittleEndian.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		flags := binary.LittleEndian.Uint32(e[0:])
		pos := int64(binary.LittleEndian.Uint32(e[4:]))
		ksize := int64(binary.LittleEndian.Uint32(e[8:]))
		vsize := int64(binary.LittleEndian.Uint32(e[12:]))
		start := int64(base) + pos
		if start < int64(end) || start+ksize+vsize > int64(len(buf)) {
			return damaged("page %d: leaf element %d out of bounds", id, i)
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		v := buf[start+ksize : start+ksize+vsize]
		if len(v) < bucketHeader {
			return damaged("page %d: bucket %d header of %d bytes", id, i, len(v))
		}
		root := binary.LittleEndian.Uint64(v[0:])
		if root != 0 {
			if err := w.walk(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := v[bucketHeader:]
		if len(inline) < pageHeaderSize {
			return damaged("page %d: inline bucket %d of %d bytes", id, i, len(inline))
		}
		ih := parseHeader(inline)
		if ih.flags != flagLeaf {
			return damaged("page %d: inline bucket %d has flags %#x", id, i, ih.flags)
		}
		if depth+1 > maxDepth {
			return damaged("page %d: buckets nested deeper than %d", id, maxDepth)
		}
		if err := w.elements(inline, ih, id, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// fixChecksum recomputes a meta page's checksum (m is the meta, after the
// page header); for tests that forge plausible metas.
func fixChecksum(m []byte) {
	h := fnv.New64a()
	h.Write(m[:56])
	binary.LittleEndian.PutUint64(m[56:], h.Sum64())
}
