package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/laned/laned/internal/gallery/active"
	"github.com/laned/laned/internal/gallery/bundle"
	"github.com/laned/laned/internal/health"
	"github.com/laned/laned/internal/outbox"
)

// ErrNoDaemon means no daemon serves the socket: it does not exist, or
// nobody accepts on it (a daemon that died). The caller may open the files
// itself.
var ErrNoDaemon = errors.New("no laned daemon is serving the local API")

// Client talks to a daemon's local API.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the socket at path.
func NewClient(path string) *Client {
	d := net.Dialer{Timeout: 2 * time.Second}
	return &Client{socket: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}}
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://laned"+path, body)
	if err != nil {
		return err
	}
	setConsoleUser(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("local API %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("daemon: %s", e.Error)
		}
		return fmt.Errorf("local API %s %s: %s", method, path, resp.Status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("local API %s %s: %w", method, path, err)
	}
	return nil
}

// transportErr is ErrNoDaemon when nobody serves the socket.
func (c *Client) transportErr(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w (%s)", ErrNoDaemon, c.socket)
	}
	return fmt.Errorf("local API %s: %w", c.socket, err)
}

// Status asks the daemon for its version and start time.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// Health returns the daemon's health snapshot.
func (c *Client) Health(ctx context.Context) (health.Snapshot, error) {
	var s health.Snapshot
	return s, c.do(ctx, http.MethodGet, "/v1/health", nil, &s)
}

// GalleryStatus returns the daemon's active gallery.
func (c *Client) GalleryStatus(ctx context.Context) (active.Status, error) {
	var s active.Status
	return s, c.do(ctx, http.MethodGet, "/v1/gallery/status", nil, &s)
}

// GalleryImport streams a bundle to the daemon, which verifies, imports
// and swaps it in.
func (c *Client) GalleryImport(ctx context.Context, bundleData io.Reader) (*bundle.Manifest, error) {
	var m bundle.Manifest
	if err := c.do(ctx, http.MethodPost, "/v1/gallery/import", bundleData, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// OutboxStatus returns the daemon's outbox statistics.
func (c *Client) OutboxStatus(ctx context.Context) (outbox.Stats, error) {
	var s outbox.Stats
	return s, c.do(ctx, http.MethodGet, "/v1/outbox/status", nil, &s)
}
