package bundle

import (
	"bytes"
	"errors"
)

// DeclaredLength returns the length of the whole bundle file whose start is
// prefix, as its header and manifest declare it (header, manifest,
// signature and records section), so a download can stop there. ok is
// false while prefix is too short to tell. The signature is not checked:
// the length only bounds what is read; the importer verifies everything.
func DeclaredLength(prefix []byte) (n int64, ok bool, err error) {
	if len(prefix) < headerSize {
		return 0, false, nil
	}
	m, read, err := readHeader(bytes.NewReader(prefix), KeyRing{})
	if m == nil {
		if errors.Is(err, ErrTruncated) {
			return 0, false, nil
		}
		return 0, false, err
	}
	if m.RecordsBytes > 1<<50 {
		return 0, false, errors.New("declared records section too large")
	}
	return int64(read) + int64(m.RecordsBytes), true, nil
}
