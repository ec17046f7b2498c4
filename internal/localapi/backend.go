package localapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/laned/laned/internal/console"
)

// Backend is the technician console's backend over a daemon's local API:
// the console server inside the daemon, and laned console serve beside it,
// run the interpreter on it.
type Backend struct{ c *Client }

var _ console.Backend = (*Backend)(nil)

// Console returns the console backend over c.
func (c *Client) Console() *Backend { return &Backend{c: c} }

func (b *Backend) get(ctx context.Context, path string, out any) error {
	return b.c.do(ctx, http.MethodGet, path, nil, out)
}

func (b *Backend) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return b.c.do(ctx, http.MethodPost, path, bytes.NewReader(body), out)
}

// Status implements console.Backend.
func (b *Backend) Status(ctx context.Context) (s console.Status, err error) {
	return s, b.get(ctx, "/v1/console/status", &s)
}

// GalleryInfo implements console.Backend.
func (b *Backend) GalleryInfo(ctx context.Context) (g console.GalleryInfo, err error) {
	return g, b.get(ctx, "/v1/gallery/info", &g)
}

// GallerySync implements console.Backend.
func (b *Backend) GallerySync(ctx context.Context) (g console.GalleryInfo, err error) {
	return g, b.post(ctx, "/v1/gallery/sync", struct{}{}, &g)
}

// GalleryImport implements console.Backend: path is a file on the booth
// that the daemon reads.
func (b *Backend) GalleryImport(ctx context.Context, path string) (g console.GalleryInfo, err error) {
	return g, b.post(ctx, "/v1/gallery/import-file", struct{ Path string }{path}, &g)
}

// Outbox implements console.Backend.
func (b *Backend) Outbox(ctx context.Context) (o console.OutboxInfo, err error) {
	return o, b.get(ctx, "/v1/outbox/info", &o)
}

// OutboxRetry implements console.Backend.
func (b *Backend) OutboxRetry(ctx context.Context) (o console.OutboxInfo, err error) {
	return o, b.post(ctx, "/v1/outbox/retry", struct{}{}, &o)
}

// Models implements console.Backend.
func (b *Backend) Models(ctx context.Context) (m []console.Model, err error) {
	return m, b.get(ctx, "/v1/models", &m)
}

// Config implements console.Backend; the daemon has redacted secrets.
func (b *Backend) Config(ctx context.Context) (m map[string]any, err error) {
	return m, b.get(ctx, "/v1/config", &m)
}

// Selftest implements console.Backend.
func (b *Backend) Selftest(ctx context.Context) (r []console.CheckResult, err error) {
	return r, b.get(ctx, "/v1/selftest", &r)
}

// LogTail implements console.Backend.
func (b *Backend) LogTail(ctx context.Context, n int, follow bool, fn func(string) error) error {
	return streamOf(ctx, b.c, "/v1/log", n, follow, fn)
}

// Events implements console.Backend.
func (b *Backend) Events(ctx context.Context, n int, follow bool, fn func(console.Event) error) error {
	return streamOf(ctx, b.c, "/v1/events", n, follow, fn)
}

// Cameras implements console.Backend.
func (b *Backend) Cameras(ctx context.Context) (c []console.Camera, err error) {
	return c, b.get(ctx, "/v1/cameras", &c)
}

// SetControl implements console.Backend.
func (b *Backend) SetControl(ctx context.Context, camera, control string, value int64) (c console.Control, err error) {
	return c, b.post(ctx, "/v1/cameras/"+url.PathEscape(camera)+"/controls/"+url.PathEscape(control), struct{ Value int64 }{value}, &c)
}

// Snapshot implements console.Backend.
func (b *Backend) Snapshot(ctx context.Context, camera string) (s console.Snapshot, err error) {
	return s, b.get(ctx, "/v1/cameras/"+url.PathEscape(camera)+"/snapshot", &s)
}

// Focus implements console.Backend.
func (b *Backend) Focus(ctx context.Context, camera string, fn func(console.FocusReading) error) error {
	return streamOf(ctx, b.c, "/v1/cameras/"+url.PathEscape(camera)+"/focus", 0, true, fn)
}

// Sensors implements console.Backend.
func (b *Backend) Sensors(ctx context.Context) (s []console.Sensor, err error) {
	return s, b.get(ctx, "/v1/sensors", &s)
}

// WatchSensors implements console.Backend.
func (b *Backend) WatchSensors(ctx context.Context, fn func(console.SensorEdge) error) error {
	return streamOf(ctx, b.c, "/v1/sensors/watch", 0, true, fn)
}

// TriggerTest implements console.Backend.
func (b *Backend) TriggerTest(ctx context.Context) (r console.TestResult, err error) {
	return r, b.post(ctx, "/v1/trigger/test", struct{}{}, &r)
}

// streamOf reads a newline-delimited JSON answer and calls fn per value.
func streamOf[T any](ctx context.Context, c *Client, path string, n int, follow bool, fn func(T) error) error {
	q := url.Values{}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	if follow {
		q.Set("follow", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://laned"+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	setConsoleUser(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return fmt.Errorf("local API GET %s: %s", path, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("local API GET %s: %w", path, err)
		}
		if l.Error != "" {
			return fmt.Errorf("daemon: %s", l.Error)
		}
		var v T
		if err := json.Unmarshal(l.V, &v); err != nil {
			return fmt.Errorf("local API GET %s: %w", path, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return sc.Err()
}

// consoleUserHeader names the console user a request runs for. The daemon
// believes it only from a peer with its own uid (its console server, the
// laned-console unit), never from other users.
const consoleUserHeader = "Laned-Console-User"

func setConsoleUser(req *http.Request) {
	if id, ok := console.IdentityFrom(req.Context()); ok && id.User != "" {
		req.Header.Set(consoleUserHeader, strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return -1
			}
			return r
		}, id.User+" ("+id.Transport+")"))
	}
}
