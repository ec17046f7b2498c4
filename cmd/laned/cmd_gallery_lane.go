package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/gallery/pull"
	"github.com/laned/laned/internal/gallery/store"
	"github.com/laned/laned/internal/safefile"
	"github.com/laned/laned/internal/vision/pipeline"
)

// Lane-side gallery commands: import (technician's USB stick), sync (pull
// from the central office once, now), status.

const (
	defaultGalleryDB    = "/var/lib/laned/gallery.db"
	defaultGalleryTrust = "/etc/laned/gallery-signing.pub"
	galleryCredential   = "gallery-key"
)

// laneStore holds the flags every lane-side command needs to open the store.
type laneStore struct {
	db, keyFile, credential string
	trust                   listFlag
	lockTimeout, maxAge     time.Duration
	socket                  string // a running daemon's local API (cmd_local.go)
}

func (l *laneStore) register(fs *flag.FlagSet) {
	fs.StringVar(&l.db, "db", defaultGalleryDB, "gallery store (bbolt file)")
	fs.StringVar(&l.keyFile, "key-file", "", "at-rest key file (0600); default: the systemd credential --credential")
	fs.StringVar(&l.credential, "credential", galleryCredential, "systemd credential holding the at-rest key, used when --key-file is empty")
	fs.Var(&l.trust, "trust", "public key file trusted to sign galleries (repeatable; default "+defaultGalleryTrust+")")
	fs.DurationVar(&l.lockTimeout, "lock-timeout", 2*time.Second, "how long to wait for another process holding the store")
	fs.DurationVar(&l.maxAge, "max-age", 72*time.Hour, "gallery age after which the lane reports itself degraded")
	fs.StringVar(&l.socket, "socket", config.DefaultSocket, socketUsage)
}

func (l *laneStore) open(e *env) (*store.Store, error) {
	var key *store.Key
	var err error
	switch {
	case l.keyFile != "":
		key, err = store.LoadKeyFile(l.keyFile)
	case os.Getenv(store.CredentialEnv) != "":
		key, err = store.LoadCredential(l.credential)
	default:
		err = fmt.Errorf("no at-rest key: give --key-file or run under systemd with LoadCredential=%s", l.credential)
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(l.db), 0o700); err != nil {
		return nil, fmt.Errorf("open gallery store: %w", err)
	}
	return store.Open(l.db, store.Options{Key: key, LockTimeout: l.lockTimeout, MaxAge: l.maxAge, Log: e.Log.With("part", "gallery")})
}

func (l *laneStore) verifyOpts() (bundle.VerifyOptions, error) {
	paths := []string(l.trust)
	if len(paths) == 0 {
		paths = []string{defaultGalleryTrust}
	}
	keys, err := bundle.LoadKeyRing(paths...)
	if err != nil {
		return bundle.VerifyOptions{}, err
	}
	return bundle.VerifyOptions{Keys: keys, ModelID: pipeline.ModelID, Dim: pipeline.Dim, Now: time.Now()}, nil
}

// storeImporter imports downloaded bundles into the store.
type storeImporter struct {
	s    *store.Store
	opts bundle.VerifyOptions
	got  *bundle.Manifest
}

func (si *storeImporter) ImportFile(ctx context.Context, path string) error {
	f, err := safefile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := si.s.Import(ctx, bufio.NewReaderSize(f, 1<<20), si.opts)
	si.got = m
	return err
}

func init() {
	register(&command{
		Name:  "gallery import",
		Short: "verify a gallery bundle (e.g. from a USB stick) and make it the lane's active gallery",
		Usage: "[--db FILE] [--key-file KEY] [--trust PUBKEY]... BUNDLE",
		Setup: func(fs *flag.FlagSet) runFunc {
			var l laneStore
			l.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("need one bundle file")
				}
				if done, err := galleryImportViaDaemon(ctx, e, l.socket, args[0]); done {
					return err
				}
				v, err := l.verifyOpts()
				if err != nil {
					return err
				}
				s, err := l.open(e)
				if err != nil {
					return err
				}
				defer s.Close()
				imp := &storeImporter{s: s, opts: v}
				start := time.Now()
				if err := imp.ImportFile(ctx, args[0]); err != nil {
					return fmt.Errorf("%s refused, active gallery unchanged: %w", args[0], err)
				}
				fmt.Fprintf(e.Stdout, "imported %s: gallery version %d (%s), %d subjects, in %.1f s\n",
					args[0], imp.got.Version, imp.got.Kind, imp.got.ResultCount, time.Since(start).Seconds())
				return nil
			}
		},
	})
	register(&command{
		Name:  "gallery sync",
		Short: "fetch the gallery from the central office now (conditional, resumable) and import it",
		Usage: "--url URL [--state DIR] [--ca FILE] [--cert FILE --client-key FILE] [store flags]",
		Setup: func(fs *flag.FlagSet) runFunc {
			var l laneStore
			l.register(fs)
			var o pull.Options
			fs.StringVar(&o.URL, "url", "", "bundle URL at the central office")
			fs.StringVar(&o.Dir, "state", "/var/lib/laned/gallery-sync", "directory for the partial download and ETags")
			fs.StringVar(&o.CAFile, "ca", "", "PEM CA file to trust instead of the system roots")
			fs.StringVar(&o.CertFile, "cert", "", "client certificate (PEM)")
			fs.StringVar(&o.KeyFile, "client-key", "", "client certificate key (PEM)")
			fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 30*time.Second, "connect, TLS and response-header timeout")
			fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "whole download timeout")
			fs.Int64Var(&o.MaxBytes, "max-bytes", pull.DefaultMaxBytes, "largest bundle to download (bytes)")
			fs.Int64Var(&o.Reserve, "reserve", pull.DefaultReserve, "free space to leave on the state directory's disk (bytes)")
			return func(ctx context.Context, e *env, args []string) error {
				if o.URL == "" || len(args) != 0 {
					return usageErrorf("need --url")
				}
				v, err := l.verifyOpts()
				if err != nil {
					return err
				}
				o.Log = e.Log.With("part", "gallery-sync")
				c, err := pull.New(o)
				if err != nil {
					return err
				}
				defer c.Close()
				s, err := l.open(e)
				if err != nil {
					return err
				}
				defer s.Close()
				imp := &storeImporter{s: s, opts: v}
				res, err := c.Sync(ctx, imp)
				if err != nil {
					return err
				}
				if res.NotModified {
					fmt.Fprintln(e.Stdout, "gallery unchanged at the central office")
					return nil
				}
				fmt.Fprintf(e.Stdout, "imported gallery version %d (%s), %d subjects\n", imp.got.Version, imp.got.Kind, imp.got.ResultCount)
				return nil
			}
		},
	})
	register(&command{
		Name:  "gallery status",
		Short: "show the lane's active gallery and whether it is degraded (expired or too old)",
		Usage: "[--db FILE] [--key-file KEY]",
		Setup: func(fs *flag.FlagSet) runFunc {
			var l laneStore
			l.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 0 {
					return usageErrorf("no arguments")
				}
				if done, err := galleryStatusViaDaemon(ctx, e, l.socket); done {
					return err
				}
				// A status never creates a store at a mistyped path.
				if st, err := os.Stat(l.db); err != nil {
					return fmt.Errorf("no gallery store: %w", err)
				} else if !st.Mode().IsRegular() {
					return fmt.Errorf("gallery store %s: %w (a %s)", l.db, safefile.ErrNotRegular, safefile.TypeOf(st.Mode()))
				}
				s, err := l.open(e)
				if err != nil {
					return err
				}
				defer s.Close()
				st, err := s.Status(time.Now())
				if err != nil {
					return err
				}
				if !st.Active {
					fmt.Fprintf(e.Stdout, "no active gallery (highest version ever activated: %d)\n", st.Highest)
				} else {
					m := st.Manifest
					fmt.Fprintf(e.Stdout, "gallery version %d, %d subjects, model %s (%d-D), created %s, expires %s\n",
						m.Version, st.Subjects, m.ModelID, m.Dim, m.Created.Format(time.RFC3339), m.Expires.Format(time.RFC3339))
				}
				if st.Degraded {
					fmt.Fprintf(e.Stdout, "DEGRADED: %s\n", st.Reason)
					return errors.New("gallery degraded")
				}
				fmt.Fprintln(e.Stdout, "ok")
				return nil
			}
		},
	})
}
