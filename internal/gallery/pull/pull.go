package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/laned/laned/internal/tlsfiles"
)

// Importer takes a complete downloaded bundle; in laned it verifies and
// imports it into the gallery store. An error means the bundle was
// refused or could not be imported.
type Importer interface {
	ImportFile(ctx context.Context, path string) error
}

// Options configure a Client.
type Options struct {
	URL            string        // the bundle's URL, https:// (http:// only with AllowHTTP)
	Dir            string        // state directory: partial download and ETags (created 0700)
	CAFile         string        // PEM CAs to trust instead of the system roots ("" = system)
	CertFile       string        // client certificate (PEM), with KeyFile
	KeyFile        string        // client key (PEM)
	ConnectTimeout time.Duration // dial + TLS handshake + response headers; default 30s
	Timeout        time.Duration // whole attempt including the body; default 30m
	Log            *slog.Logger
	// MaxBytes is the largest bundle accepted (default DefaultMaxBytes);
	// a download also stops at the length the bundle's header declares.
	MaxBytes int64
	// Reserve is the free space a download must leave on Dir's file system
	// (default DefaultReserve; the disk holds the outbox too).
	Reserve int64
	// AllowHTTP allows plain http:// URLs and redirects: for tests only, a
	// gallery never crosses a network in the clear.
	AllowHTTP bool
}

// Client fetches bundles.
type Client struct {
	opts Options
	http *http.Client
	log  *slog.Logger
}

// Result says what a Sync did.
type Result struct {
	NotModified bool  // the server had nothing newer (304)
	Resumed     bool  // the download continued a partial one
	Bytes       int64 // bytes received in this attempt
	ETag        string
}

const (
	partialName = "bundle.partial"
	partialTag  = "bundle.partial.etag"
	lastTag     = "last.etag"
)

// New checks the options and builds the HTTP client.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && opts.AllowHTTP) {
		if u != nil {
			return nil, fmt.Errorf("gallery sync: url %q is not https://", redact(u))
		}
		return nil, errors.New("gallery sync: url is not https://")
	}
	if opts.MaxBytes < 0 || opts.Reserve < 0 {
		return nil, errors.New("gallery sync: negative max bytes or reserve")
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Reserve == 0 {
		opts.Reserve = DefaultReserve
	}
	if opts.Dir == "" {
		return nil, errors.New("gallery sync: no state directory")
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	tc, err := tlsfiles.Client(opts.CAFile, opts.CertFile, opts.KeyFile, "")
	if err != nil {
		return nil, fmt.Errorf("gallery sync: %w", err)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   opts.ConnectTimeout,
		ResponseHeaderTimeout: opts.ConnectTimeout,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true, // byte ranges must address the file itself
	}
	c := &Client{opts: opts, log: opts.Log.With("url", redact(u))}
	c.http = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	return c, nil
}

// Close releases idle connections. It is idempotent.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

func (c *Client) path(name string) string { return filepath.Join(c.opts.Dir, name) }

func readTag(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// Sync fetches the bundle if it changed and hands it to imp. An
// interrupted download is kept and resumed by the next Sync; a complete one
// is removed once imp has taken or refused it.
func (c *Client) Sync(ctx context.Context, imp Importer) (Result, error) {
	var res Result
	if err := os.MkdirAll(c.opts.Dir, 0o700); err != nil {
		return res, fmt.Errorf("gallery sync: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.URL, nil)
	if err != nil {
		return res, fmt.Errorf("gallery sync: %w", err)
	}
	partial := c.path(partialName)
	var have int64
	if st, err := os.Stat(partial); err == nil && st.Size() > 0 {
		if tag := readTag(c.path(partialTag)); tag != "" {
			have = st.Size()
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
			req.Header.Set("If-Range", tag)
		}
	}
	if have == 0 {
		os.Remove(partial)
		if tag := readTag(c.path(lastTag)); tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return res, fmt.Errorf("gallery sync: %w", err)
	}
	defer resp.Body.Close()
	res.ETag = resp.Header.Get("ETag")
	var f *os.File
	switch resp.StatusCode {
	case http.StatusNotModified:
		res.NotModified = true
		c.log.Info("gallery unchanged", "etag", res.ETag)
		return res, nil
	case http.StatusPartialContent:
		start, total, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != have {
			os.Remove(partial)
			return res, fmt.Errorf("gallery sync: server answered range %d- with %q; partial download dropped", have, resp.Header.Get("Content-Range"))
		}
		if err := c.admit(total, total-have); err != nil {
			c.dropPartial()
			return res, err
		}
		f, err = os.OpenFile(partial, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return res, fmt.Errorf("gallery sync: %w", err)
		}
		res.Resumed = true
		c.log.Info("resuming gallery download", "have", have, "total", total)
	case http.StatusOK:
		if err := c.admit(resp.ContentLength, resp.ContentLength); err != nil {
			c.dropPartial()
			return res, err
		}
		if res.ETag != "" {
			if err := os.WriteFile(c.path(partialTag), []byte(res.ETag+"\n"), 0o600); err != nil {
				return res, fmt.Errorf("gallery sync: %w", err)
			}
		} else {
			os.Remove(c.path(partialTag)) // no validator: a cut download restarts
		}
		f, err = os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return res, fmt.Errorf("gallery sync: %w", err)
		}
		have = 0
	case http.StatusRequestedRangeNotSatisfiable:
		os.Remove(partial)
		return res, errors.New("gallery sync: server refused to resume (416); partial download dropped, next sync starts over")
	default:
		return res, fmt.Errorf("gallery sync: %s from %s", resp.Status, redact(req.URL))
	}
	if err := f.Chmod(0o600); err != nil { // an old partial may predate the mode
		f.Close()
		return res, fmt.Errorf("gallery sync: %w", err)
	}
	bf := &boundedFile{c: c, f: f, total: have, limit: c.opts.MaxBytes, checked: have}
	if have > 0 {
		bf.seedHead(partial)
	}
	n, err := io.Copy(bf, resp.Body)
	res.Bytes = n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNoSpace) {
		c.dropPartial()
		c.log.Error("gallery download stopped", "bytes", have+n, "err", err)
		return res, fmt.Errorf("gallery sync: download stopped after %d bytes, dropped: %w", have+n, err)
	}
	if err != nil {
		return res, fmt.Errorf("gallery sync: download cut after %d bytes (kept for resume): %w", have+n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return res, fmt.Errorf("gallery sync: got %d of %d bytes (kept for resume)", n, resp.ContentLength)
	}
	c.log.Info("gallery downloaded", "bytes", have+n, "etag", res.ETag, "resumed", res.Resumed)
	ierr := imp.ImportFile(ctx, partial)
	c.dropPartial()
	if ierr != nil {
		// Refused (or the import failed): the tag is not recorded, so the
		// next window fetches the bundle again rather than keeping the lane
		// on its old gallery until the office publishes another.
		c.log.Error("gallery bundle refused; will fetch it again next window", "etag", res.ETag, "reason", ierr)
		return res, fmt.Errorf("gallery sync: %w: %w", ErrRefused, ierr)
	}
	// Imported: remember its tag so the next sync asks only for something
	// newer.
	if res.ETag != "" {
		if err := os.WriteFile(c.path(lastTag), []byte(res.ETag+"\n"), 0o600); err != nil {
			c.log.Warn("gallery sync: cannot record the ETag; the next sync fetches the bundle again", "err", err)
		}
	}
	return res, nil
}

// contentRange parses "bytes START-END/TOTAL" (TOTAL may be *).
func contentRange(h string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", h)
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", h)
	}
	s, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", h)
	}
	if start, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("content-range %q", h)
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("content-range %q", h)
		}
	}
	return start, total, nil
}
