package enrol

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/vision"
)

// Enroller makes one template from one enrolment photo, or says why it
// cannot (pipeline.ErrNoFace, ErrManyFaces, ErrLowQuality, decode errors).
type Enroller interface {
	EnrollFile(path string) (vision.Embedding, error)
}

// Rejected is a photo or subject left out, with the reason.
type Rejected struct {
	Path string // the photo, or the subject folder when no photo was usable
	Err  error
}

// Report is what FromDir did.
type Report struct {
	Subjects  int // subjects written
	Templates int // templates written
	Photos    int // photos tried
	Rejected  []Rejected
}

// imageExt are the files taken as photos; anything else is listed as rejected.
var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".webp": true, ".tif": true, ".tiff": true}

// Subject is one enrolment folder.
type Subject struct {
	ID     string
	Photos []string
}

// Scan lists dir's subject folders (sorted bytewise, the bundle's order)
// and their photos. Files directly in dir, hidden entries and non-image
// files are returned as rejected.
func Scan(dir string) ([]Subject, []Rejected, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("scan enrolment folder: %w", err)
	}
	var subs []Subject
	var rej []Rejected
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			rej = append(rej, Rejected{p, errors.New("not a subject folder")})
			continue
		}
		photos, err := os.ReadDir(p)
		if err != nil {
			return nil, nil, fmt.Errorf("scan enrolment folder: %w", err)
		}
		s := Subject{ID: e.Name()}
		for _, ph := range photos {
			pp := filepath.Join(p, ph.Name())
			switch {
			case strings.HasPrefix(ph.Name(), "."):
			case ph.IsDir() || !imageExt[strings.ToLower(filepath.Ext(ph.Name()))]:
				rej = append(rej, Rejected{pp, errors.New("not an image file")})
			default:
				s.Photos = append(s.Photos, pp)
			}
		}
		subs = append(subs, s)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	return subs, rej, nil
}

// Options for FromDir.
type Options struct {
	Category   string            // category of every subject, e.g. "expected-traveller"
	Attributes map[string]string // attributes of every subject
	Progress   func(photos int)  // called after each photo
}

// FromDir enrols every subject of subjects (as Scan returns them) through e
// and adds them to w. Per-photo failures are listed in the report; only
// a writer error or ctx stops it.
func FromDir(ctx context.Context, subjects []Subject, e Enroller, w *bundle.Writer, opts Options) (Report, error) {
	var rep Report
	for _, s := range subjects {
		rec := &bundle.Record{Subject: s.ID, Category: opts.Category, Attributes: opts.Attributes}
		for _, p := range s.Photos {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			rep.Photos++
			emb, err := e.EnrollFile(p)
			if opts.Progress != nil {
				opts.Progress(1)
			}
			if err != nil {
				rep.Rejected = append(rep.Rejected, Rejected{p, err})
				continue
			}
			rec.Templates = append(rec.Templates, []float32(emb))
		}
		if len(rec.Templates) == 0 {
			rep.Rejected = append(rep.Rejected, Rejected{s.ID, errors.New("subject left out: no usable photo")})
			continue
		}
		if err := w.Add(rec); err != nil {
			if errors.Is(err, bundle.ErrBadTemplate) {
				rep.Rejected = append(rep.Rejected, Rejected{s.ID, err})
				continue
			}
			return rep, fmt.Errorf("enrol %s: %w", s.ID, err)
		}
		rep.Subjects++
		rep.Templates += len(rec.Templates)
	}
	return rep, nil
}
