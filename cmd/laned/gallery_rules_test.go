package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision/pipeline"
)

func templateFile(t *testing.T, path string, lines ...map[string]any) {
	t.Helper()
	var b strings.Builder
	for i, l := range lines {
		v := make([]float32, pipeline.Dim)
		v[i%pipeline.Dim] = 1
		l["templates"] = [][]float32{v}
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGalleryBuildChecksWhatLanesCheck: gallery build refuses what a lane
// would refuse, naming the subject, and writes no bundle: subject ids
// outside the one rule a summary can carry, a validity window that ends
// before it starts, a bundle that expires before it is created.
func TestGalleryBuildChecksWhatLanesCheck(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]struct {
		line  map[string]any
		extra []string
		want  string
	}{
		"non-ASCII id":     {map[string]any{"subject": "José Ñ"}, nil, `"José Ñ"`},
		"space in id":      {map[string]any{"subject": "S 1"}, nil, `"S 1"`},
		"id too long":      {map[string]any{"subject": strings.Repeat("a", 65)}, nil, "subject id"},
		"window reversed":  {map[string]any{"subject": "S-1", "valid_from": at, "valid_until": at.Add(-time.Hour)}, nil, "valid until"},
		"window empty":     {map[string]any{"subject": "S-1", "valid_from": at, "valid_until": at}, nil, "valid until"},
		"expires negative": {map[string]any{"subject": "S-1"}, []string{"--expires", "-1h"}, "expires"},
		"expires zero":     {map[string]any{"subject": "S-1"}, []string{"--expires", "0s"}, "expires"},
	} {
		t.Run(name, func(t *testing.T) {
			templateFile(t, p("t.jsonl"), c.line)
			out := p("g.bundle")
			os.Remove(out)
			args := append([]string{"gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", out}, c.extra...)
			runFail(t, c.want, args...)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a bundle lanes refuse was written (%v)", err)
			}
		})
	}
	// Every id the build accepts, a summary can carry.
	for _, id := range []string{"S-000481", "a", "x.y:z_1-2", strings.Repeat("a", 64)} {
		if !summary.ValidSubjectID(id) {
			t.Errorf("summary refuses %q", id)
		}
		templateFile(t, p("ok.jsonl"), map[string]any{"subject": id})
		runOK(t, "gallery", "build", "--from-templates", p("ok.jsonl"), "--key", p("sign.key"), "-o", p(fmt.Sprintf("ok-%d.bundle", len(id))))
	}
}
