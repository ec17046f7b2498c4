package main

import (
	"fmt"
	"io"
	"path/filepath"

	"gocv.io/x/gocv"

	"github.com/laned/laned/internal/safefile"
)

// writeImage encodes img in the format of path's extension and writes it
// atomically without following a symlink planted at path (gocv.IMWrite
// opens the path as given and overwrites a link's target).
func writeImage(path string, img gocv.Mat) error {
	buf, err := gocv.IMEncode(gocv.FileExt(filepath.Ext(path)), img)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	defer buf.Close()
	return safefile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(buf.GetBytes())
		return err
	})
}
