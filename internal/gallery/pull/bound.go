package pull

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"golang.org/x/sys/unix"

	"github.com/laned/laned/internal/gallery/bundle"
)

// Bounds of a sync: the disk that holds the gallery also holds the
// outbox, so a download never grows past a size limit (from the options
// and from the bundle's own declared length) and never starts when it
// would eat into a free-space reserve.

var (
	// ErrTooLarge: the response is over MaxBytes or longer than the bundle
	// declares. The download is dropped.
	ErrTooLarge = errors.New("bundle too large")
	// ErrNoSpace: the download would leave less than Reserve free.
	ErrNoSpace = errors.New("not enough free space")
	// ErrRefused wraps the importer's error: the bundle was downloaded but
	// refused. Its ETag is not recorded, so the next window fetches it
	// again.
	ErrRefused = errors.New("bundle refused")
)

const (
	// DefaultMaxBytes bounds a bundle when Options.MaxBytes is 0: about
	// 2.7 million 512-byte templates.
	DefaultMaxBytes = 2 << 30
	// DefaultReserve is the free space a sync leaves when Options.Reserve
	// is 0.
	DefaultReserve = 512 << 20
	// spaceCheckEvery is how often (bytes) free space is checked again
	// while a download of unknown length runs.
	spaceCheckEvery = 4 << 20
)

// freeBytes is the space available to an unprivileged writer on dir's file
// system.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// checkSpace fails when writing need more bytes to dir would leave less
// than the reserve.
func (c *Client) checkSpace(need int64) error {
	free, err := freeBytes(c.opts.Dir)
	if err != nil {
		return err
	}
	if free-need < c.opts.Reserve {
		return fmt.Errorf("%w on %s: %d bytes free, the download needs %d and the reserve is %d", ErrNoSpace, c.opts.Dir, free, need, c.opts.Reserve)
	}
	return nil
}

// boundedFile writes a download to the partial file: never more than
// limit bytes in all (have already there), and no more than the bundle's
// header declares once the header has arrived.
type boundedFile struct {
	c        *Client
	f        *os.File
	total    int64 // bytes in the file
	limit    int64
	declared int64 // 0 until known
	head     []byte
	checked  int64 // total at the last free-space check
}

// headMax is how much of the file start is kept to read the declared
// length (header, largest manifest, signature).
const headMax = 64<<10 + 1024

func (b *boundedFile) Write(p []byte) (int, error) {
	if b.declared == 0 && int64(len(b.head)) < headMax {
		b.head = append(b.head, p[:min(len(p), headMax-len(b.head))]...)
		if n, ok, err := bundle.DeclaredLength(b.head); err == nil && ok {
			b.declared = n
		}
	}
	room := b.limit - b.total
	if b.declared > 0 {
		room = min(room, b.declared-b.total)
	}
	if int64(len(p)) > room {
		n, _ := b.f.Write(p[:max(room, 0)])
		b.total += int64(n)
		if b.declared > 0 && b.total >= b.declared {
			return n, fmt.Errorf("%w: the server sends more than the %d bytes the bundle declares", ErrTooLarge, b.declared)
		}
		return n, fmt.Errorf("%w: over the %d-byte limit (gallery sync max bytes)", ErrTooLarge, b.limit)
	}
	n, err := b.f.Write(p)
	b.total += int64(n)
	if err == nil && b.total-b.checked >= spaceCheckEvery {
		b.checked = b.total
		err = b.c.checkSpace(0)
	}
	return n, err
}

// seedHead reads the start of an existing partial file so a resumed
// download knows the declared length too.
func (b *boundedFile) seedHead(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	head := make([]byte, headMax)
	n, _ := io.ReadFull(f, head)
	b.head = head[:n]
	if d, ok, err := bundle.DeclaredLength(b.head); err == nil && ok {
		b.declared = d
	}
}

// checkRedirect refuses a redirect that leaves https (unless plain HTTP is
// allowed for tests) or the configured host.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	orig, err := url.Parse(c.opts.URL)
	if err != nil {
		return err
	}
	if req.URL.Scheme != "https" && !(c.opts.AllowHTTP && req.URL.Scheme == "http") {
		return fmt.Errorf("redirect to %s leaves https: refused", redact(req.URL))
	}
	if req.URL.Host != orig.Host {
		return fmt.Errorf("redirect to %s leaves host %s: refused", redact(req.URL), orig.Host)
	}
	return nil
}

// redact drops credentials and the query from u for logs and errors.
func redact(u *url.URL) string {
	v := *u
	v.User = nil
	if v.RawQuery != "" {
		v.RawQuery = "REDACTED"
	}
	return v.String()
}

// admit checks a response before its body is read: its total length
// (when known, else -1) against MaxBytes, and the bytes still to come
// against the free-space reserve.
func (c *Client) admit(total, remaining int64) error {
	if total > c.opts.MaxBytes {
		return fmt.Errorf("gallery sync: %w: the server announces %d bytes, over the %d-byte limit (gallery sync max bytes)", ErrTooLarge, total, c.opts.MaxBytes)
	}
	if err := c.checkSpace(max(remaining, 0)); err != nil {
		return fmt.Errorf("gallery sync: %w", err)
	}
	return nil
}

// dropPartial removes the partial download and its tag.
func (c *Client) dropPartial() {
	os.Remove(c.path(partialName))
	os.Remove(c.path(partialTag))
}
