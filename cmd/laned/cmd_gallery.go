package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/enrol"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/safefile"
	"github.com/laned/laned/internal/vision/pipeline"
	"github.com/schollz/progressbar/v3"
)

// Central-office gallery commands: keygen, build, inspect. The lane-side
// ones (import, sync, status) are in cmd_gallery_lane.go.

func init() {
	register(&command{
		Name:  "gallery keygen",
		Short: "make a gallery signing key (central office) or an at-rest key (lane)",
		Usage: "-o KEYFILE [--storage]",
		Setup: func(fs *flag.FlagSet) runFunc {
			out := fs.String("o", "", "key file to create (the public key goes to KEYFILE.pub)")
			storage := fs.Bool("storage", false, "make a lane's AES-256 at-rest key instead of an Ed25519 signing key")
			return func(ctx context.Context, e *env, args []string) error {
				if *out == "" || len(args) != 0 {
					return usageErrorf("need -o KEYFILE")
				}
				if *storage {
					if err := store.GenerateKeyFile(*out); err != nil {
						return err
					}
					fmt.Fprintf(e.Stdout, "wrote at-rest key %s (mode 0600)\n", *out)
					return nil
				}
				pub, err := bundle.GenerateKey(*out)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "wrote signing key %s (mode 0600) and public key %s.pub (key id %s)\n", *out, *out, bundle.KeyIDOf(pub))
				return nil
			}
		},
	})
	register(&command{
		Name:  "gallery build",
		Short: "build a signed gallery bundle from enrolment photos (one folder per subject)",
		Usage: "--from DIR | --from-templates FILE.jsonl [--base FULL.bundle]  --key KEY -o FILE [--version N] [--expires DUR] [--category C]",
		Setup: func(fs *flag.FlagSet) runFunc {
			var o buildOpts
			fs.StringVar(&o.from, "from", "", "enrolment folder: one sub-folder of photos per subject, named by subject id")
			fs.StringVar(&o.fromTemplates, "from-templates", "", "precomputed templates instead of photos: JSON lines {\"subject\",\"templates\":[[...]],\"category\",\"attributes\",\"valid_from\",\"valid_until\"}, sorted by subject")
			fs.StringVar(&o.key, "key", "", "signing key file (laned gallery keygen)")
			fs.StringVar(&o.out, "o", "", "bundle file to write")
			fs.Uint64Var(&o.version, "version", 0, "gallery version, must exceed every earlier one (default: now as Unix seconds)")
			fs.DurationVar(&o.expires, "expires", 7*24*time.Hour, "how long lanes may import the bundle")
			fs.StringVar(&o.category, "category", "expected-traveller", "category of every subject enrolled from --from")
			fs.StringVar(&o.issuer, "issuer", "", "free text naming who built it")
			fs.StringVar(&o.base, "base", "", "build a delta against this earlier bundle (with --from-templates; lines with \"remove\":true delete a subject)")
			return func(ctx context.Context, e *env, args []string) error {
				if (o.from == "") == (o.fromTemplates == "") || o.key == "" || o.out == "" || len(args) != 0 {
					return usageErrorf("need one of --from DIR or --from-templates FILE, and --key KEY -o FILE")
				}
				return runGalleryBuild(ctx, e, o)
			}
		},
	})
	register(&command{
		Name:  "gallery inspect",
		Short: "show a bundle's manifest, counts and signature status (never its templates)",
		Usage: "[--trust PUBKEY]... FILE",
		Setup: func(fs *flag.FlagSet) runFunc {
			var trust listFlag
			fs.Var(&trust, "trust", "public key file to check the signature with (repeatable)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("need one bundle file")
				}
				return runGalleryInspect(e, trust, args[0])
			}
		},
	})
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

type buildOpts struct {
	from, fromTemplates, key, out, category, issuer, base string
	version                                               uint64
	expires                                               time.Duration
}

func runGalleryBuild(ctx context.Context, e *env, o buildOpts) error {
	priv, err := bundle.LoadPrivateKey(o.key)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	if o.version == 0 {
		o.version = uint64(now.Unix())
	}
	man := bundle.Manifest{
		Version: o.version, Kind: bundle.Full, Created: now, Expires: now.Add(o.expires),
		ModelID: pipeline.ModelID, Dim: pipeline.Dim, Issuer: o.issuer,
	}
	var baseSubjects map[string]bool
	if o.base != "" {
		if o.from != "" {
			return usageErrorf("--base works with --from-templates")
		}
		bm, subjects, err := readBase(o.base, priv)
		if err != nil {
			return err
		}
		man.Kind, man.BaseVersion, man.ModelID, man.Dim = bundle.Delta, bm.Version, bm.ModelID, bm.Dim
		baseSubjects = subjects
	}
	w, err := bundle.NewWriter(man, filepath.Dir(o.out))
	if err != nil {
		return err
	}
	defer w.Close()
	if o.from != "" {
		if err := enrolDir(ctx, e, o, w); err != nil {
			return err
		}
	} else if err := addTemplates(o.fromTemplates, w, baseSubjects); err != nil {
		return err
	}
	if baseSubjects != nil {
		w.SetResultCount(uint64(len(baseSubjects)))
	}
	if w.Count() == 0 {
		return errors.New("build gallery: no subject to write")
	}
	// The bundle is read back as a lane will read it (signature, manifest,
	// every record) before it replaces o.out.
	laneCheck := func(r io.Reader) error {
		_, err := bundle.Verify(bufio.NewReaderSize(r, 1<<20), bundle.VerifyOptions{
			Keys: bundle.NewKeyRing(priv.Public().(ed25519.PublicKey)), ModelID: man.ModelID, Dim: man.Dim, Now: now})
		if err != nil {
			return fmt.Errorf("a lane would refuse it: %w", err)
		}
		return nil
	}
	m, err := writeAtomic(o.out, func(f io.Writer) (*bundle.Manifest, error) { return w.Finish(f, priv) }, laneCheck)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote %s: gallery version %d, %d subjects, expires %s, key %s\n",
		o.out, m.Version, m.RecordCount, m.Expires.Format(time.RFC3339), m.KeyID)
	return nil
}

// enrolDir enrols the photos through the real face pipeline, listing every
// refused photo.
func enrolDir(ctx context.Context, e *env, o buildOpts, w *bundle.Writer) error {
	subjects, rejected, err := enrol.Scan(o.from)
	if err != nil {
		return err
	}
	total := 0
	for _, s := range subjects {
		total += len(s.Photos)
	}
	p, err := openPipeline("")
	if err != nil {
		return err
	}
	defer p.Close()
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(e.Stderr), progressbar.OptionShowCount(),
		progressbar.OptionSetDescription("enrolling"), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
	rep, err := enrol.FromDir(ctx, subjects, p, w, enrol.Options{Category: o.category, Progress: func(n int) { bar.Add(n) }})
	bar.Finish()
	if err != nil {
		return err
	}
	rejected = append(rejected, rep.Rejected...)
	byReason := map[string]int{}
	for _, r := range rejected {
		fmt.Fprintf(e.Stdout, "rejected %s: %s\n", forTerminal(r.Path), forTerminal(r.Err.Error()))
		byReason[reasonOf(r.Err)]++
	}
	reasons := make([]string, 0, len(byReason))
	for k, n := range byReason {
		reasons = append(reasons, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(reasons)
	fmt.Fprintf(e.Stdout, "enrolled %d subjects (%d templates) from %d photos; rejected %d: %s\n",
		rep.Subjects, rep.Templates, rep.Photos, len(rejected), strings.Join(reasons, ", "))
	return nil
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, pipeline.ErrNoFace):
		return "no face"
	case errors.Is(err, pipeline.ErrManyFaces):
		return "more than one face"
	case errors.Is(err, pipeline.ErrLowQuality):
		return "quality too low"
	case strings.Contains(err.Error(), "not an image file"):
		return "not an image"
	case strings.Contains(err.Error(), "no usable photo"):
		return "subject without usable photo"
	}
	return "other"
}

// templateLine is one line of --from-templates.
type templateLine struct {
	Subject    string            `json:"subject"`
	Templates  [][]float32       `json:"templates"`
	Category   string            `json:"category"`
	Attributes map[string]string `json:"attributes"`
	ValidFrom  time.Time         `json:"valid_from"`
	ValidUntil time.Time         `json:"valid_until"`
	Remove     bool              `json:"remove"`
}

// addTemplates adds the JSON lines of path to w; for a delta it applies
// them to base (the base's subject set) so the result count is known.
func addTemplates(path string, w *bundle.Writer, base map[string]bool) error {
	f, err := safefile.Open(path)
	if err != nil {
		return fmt.Errorf("read templates: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	dec.DisallowUnknownFields()
	for line := 1; ; line++ {
		var t templateLine
		if err := dec.Decode(&t); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read templates %s: record %d: %w", path, line, err)
		}
		r := &bundle.Record{Subject: t.Subject, Templates: t.Templates, Category: t.Category, Attributes: t.Attributes, ValidFrom: t.ValidFrom, ValidUntil: t.ValidUntil, Remove: t.Remove}
		if err := w.Add(r); err != nil {
			return fmt.Errorf("read templates %s: record %d: %w", path, line, err)
		}
		switch {
		case base == nil:
		case t.Remove && !base[t.Subject]:
			return fmt.Errorf("read templates %s: record %d: removes %q, which the base does not have", path, line, t.Subject)
		case t.Remove:
			delete(base, t.Subject)
		default:
			base[t.Subject] = true
		}
	}
}

// writeAtomic writes path (mode 0600: a bundle carries templates) through
// a temporary file renamed into place; a symlink at path is replaced, not
// followed.
func writeAtomic(path string, write func(io.Writer) (*bundle.Manifest, error), check func(io.Reader) error) (*bundle.Manifest, error) {
	var m *bundle.Manifest
	err := safefile.WriteFileChecked(path, 0o600, func(f io.Writer) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		var err error
		if m, err = write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}, check)
	return m, err
}

func runGalleryInspect(e *env, trust []string, path string) error {
	keys := bundle.KeyRing{}
	if len(trust) > 0 {
		kr, err := bundle.LoadKeyRing(trust...)
		if err != nil {
			return err
		}
		keys = kr
	}
	f, err := safefile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, herr := bundle.ReadHeader(f, keys)
	if m == nil {
		return fmt.Errorf("inspect %s: %w", path, herr)
	}
	sig := "valid"
	switch {
	case errors.Is(herr, bundle.ErrUnknownKey) && len(trust) == 0:
		sig = "not checked (no --trust key given)"
	case herr != nil:
		sig = "REFUSED: " + forTerminal(herr.Error())
	}
	out := e.Stdout
	fmt.Fprintf(out, "file:            %s\n", forTerminal(path))
	fmt.Fprintf(out, "kind:            %s\n", m.Kind)
	fmt.Fprintf(out, "gallery version: %d\n", m.Version)
	if m.Kind == bundle.Delta {
		fmt.Fprintf(out, "base version:    %d\n", m.BaseVersion)
	}
	fmt.Fprintf(out, "created:         %s\n", m.Created.Format(time.RFC3339))
	fmt.Fprintf(out, "expires:         %s\n", m.Expires.Format(time.RFC3339))
	fmt.Fprintf(out, "model:           %s (%d-D)\n", forTerminal(m.ModelID), m.Dim)
	fmt.Fprintf(out, "records:         %d (%d bytes), gallery after import: %d subjects\n", m.RecordCount, m.RecordsBytes, m.ResultCount)
	fmt.Fprintf(out, "records sha256:  %x\n", m.RecordsSHA256)
	if m.Issuer != "" {
		fmt.Fprintf(out, "issuer:          %s\n", forTerminal(m.Issuer)) // bundle text: escaped
	}
	fmt.Fprintf(out, "signing key:     %s\n", m.KeyID)
	fmt.Fprintf(out, "signature:       %s\n", sig)
	if herr != nil {
		if len(trust) == 0 {
			return nil
		}
		return fmt.Errorf("inspect %s: %w", path, herr)
	}
	// Signature good: read the records (digest, order, templates) and count
	// them by category, against the bundle's own model so inspect works
	// on any machine.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r, err := bundle.NewReader(f, bundle.VerifyOptions{Keys: keys, ModelID: m.ModelID, Dim: m.Dim, Now: m.Created})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", path, err)
	}
	cats := map[string]int{}
	templates, removals := 0, 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(out, "records:         REFUSED: %s\n", forTerminal(err.Error()))
			return fmt.Errorf("inspect %s: %w", path, err)
		}
		if rec.Remove {
			removals++
			continue
		}
		cats[rec.Category]++
		templates += len(rec.Templates)
	}
	names := make([]string, 0, len(cats))
	for c := range cats {
		names = append(names, c)
	}
	sort.Strings(names)
	fmt.Fprintf(out, "records check:   valid (count, length and digest match)\n")
	fmt.Fprintf(out, "templates:       %d\n", templates)
	if removals > 0 {
		fmt.Fprintf(out, "removals:        %d\n", removals)
	}
	for _, c := range names {
		fmt.Fprintf(out, "category %-16q %d\n", c, cats[c])
	}
	if !time.Now().Before(m.Expires) {
		fmt.Fprintf(out, "note:            expired; lanes will refuse it\n")
	}
	return nil
}

// readBase verifies an earlier bundle with the signing key's own public key
// and returns its manifest and subject ids.
func readBase(path string, priv ed25519.PrivateKey) (*bundle.Manifest, map[string]bool, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read base bundle: %w", err)
	}
	defer f.Close()
	keys := bundle.NewKeyRing(priv.Public().(ed25519.PublicKey))
	m, err := bundle.ReadHeader(f, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("read base bundle %s: %w", path, err)
	}
	if m.Kind != bundle.Full {
		return nil, nil, fmt.Errorf("read base bundle %s: a delta; give the full bundle it was built on", path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	r, err := bundle.NewReader(bufio.NewReaderSize(f, 1<<20), bundle.VerifyOptions{Keys: keys, ModelID: m.ModelID, Dim: m.Dim, Now: m.Created})
	if err != nil {
		return nil, nil, fmt.Errorf("read base bundle %s: %w", path, err)
	}
	subjects := make(map[string]bool, m.RecordCount)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return m, subjects, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read base bundle %s: %w", path, err)
		}
		subjects[rec.Subject] = true
	}
}
