package pipeline

import (
	"errors"
	"path/filepath"
	"testing"
)

// BenchmarkProbePhotos is the per-probe cost on real photos, decode to
// template (ProbeFile): the 9 pascal-faces photos (many small faces) and
// the 61 deepface photos (large faces, some touching the border). It is
// self-contained so it can run unchanged on an older tree for a same-run
// comparison.
func BenchmarkProbePhotos(b *testing.B) {
	root := filepath.Join("..", "..", "..", "..", "shared", "datasets")
	for _, set := range []struct{ name, pattern string }{
		{"pascal", filepath.Join(root, "pascal-faces", "*.jpg")},
		{"deepface", filepath.Join(root, "deepface", "ids", "*", "*.jpg")},
	} {
		b.Run(set.name, func(b *testing.B) {
			paths, _ := filepath.Glob(set.pattern)
			if len(paths) == 0 {
				b.Skip("../shared/datasets absent")
			}
			p, _ := open(b, Options{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.ProbeFile(paths[i%len(paths)]); err != nil && !errors.Is(err, ErrNoUsableFace) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/probe")
		})
	}
}
