package pull

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/laned/laned/internal/gallery/bundle"
)

// endless streams bytes until the client goes away, with no length. (It
// stops at 64 MiB, so that a client without a bound fails the test instead
// of filling the disk of the machine running it.)
type endless struct{ served chan int64 }

func (e endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ETag", `"endless"`)
	buf := bytes.Repeat([]byte("x"), 64<<10)
	var n int64
	defer func() {
		select {
		case e.served <- n:
		default:
		}
	}()
	for {
		m, err := w.Write(buf)
		n += int64(m)
		if err != nil || r.Context().Err() != nil || n >= 64<<20 {
			return
		}
	}
}

func sealed(t *testing.T, records int) []byte {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(nil)
	var sec []byte
	for i := range records {
		v := make([]float32, 4)
		v[i%4] = 1
		rec, err := bundle.MarshalRecord(&bundle.Record{Subject: "S-" + itoa(1000+i), Templates: [][]float32{v}})
		if err != nil {
			t.Fatal(err)
		}
		sec = bundle.AppendRecord(sec, rec)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var b bytes.Buffer
	if _, err := bundle.Seal(&b, bundle.Manifest{Version: 7, Created: now, Expires: now.Add(time.Hour), ModelID: "m", Dim: 4}, priv, sec, uint64(records)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEndlessResponseStopsAtLimit: an endless body stops at MaxBytes with
// a clear error, nothing over the limit stays on disk, and the next sync
// imports the real bundle.
func TestEndlessResponseStopsAtLimit(t *testing.T) {
	h := &switchHandler{h: endless{served: make(chan int64, 1)}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	const limit = 1 << 20
	c := newClient(t, srv.URL, func(o *Options) { o.MaxBytes = limit })
	imp := &recorder{}
	_, err := c.Sync(context.Background(), imp)
	if err == nil || !strings.Contains(err.Error(), "limit") || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless body: %v", err)
	}
	if st, err := os.Stat(c.path(partialName)); err == nil && st.Size() > limit {
		t.Errorf("partial of %d bytes over the limit %d", st.Size(), limit)
	}
	if len(imp.got) != 0 {
		t.Error("an oversize download was handed to the importer")
	}
	good := sealed(t, 3)
	h.set(&origin{body: good, etag: `"v1"`})
	if _, err := c.Sync(context.Background(), imp); err != nil || len(imp.got) != 1 || !bytes.Equal(imp.got[0], good) {
		t.Fatalf("next sync: %v, %d imports", err, len(imp.got))
	}
}

// TestOversizeRefusedBeforeDownload: a declared Content-Length over the
// limit is refused without reading the body.
func TestOversizeRefusedBeforeDownload(t *testing.T) {
	o := &origin{body: blob(3<<20, 1), etag: `"big"`}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, func(o *Options) { o.MaxBytes = 1 << 20 })
	res, err := c.Sync(context.Background(), &recorder{})
	if !errors.Is(err, ErrTooLarge) || res.Bytes != 0 {
		t.Fatalf("oversize: %+v %v", res, err)
	}
}

// TestDeclaredLength: a bundle followed by more bytes stops at the length
// its own header declares.
func TestDeclaredLength(t *testing.T) {
	good := sealed(t, 5)
	padded := append(append([]byte(nil), good...), blob(2<<20, 9)...)
	o := &origin{body: padded, etag: `"padded"`}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	imp := &recorder{}
	res, err := c.Sync(context.Background(), imp)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "declares") || len(imp.got) != 0 {
		t.Fatalf("padded bundle: %+v %v", res, err)
	}
	if res.Bytes > int64(len(good))+(256<<10) {
		t.Errorf("read %d bytes of a %d-byte bundle", res.Bytes, len(good))
	}
	o.mu.Lock()
	o.body, o.etag = good, `"good"`
	o.mu.Unlock()
	if _, err := c.Sync(context.Background(), imp); err != nil || len(imp.got) != 1 {
		t.Fatalf("exact bundle: %v", err)
	}
}

// TestFreeSpaceReserve: a download that would eat into the reserve is
// not started.
func TestFreeSpaceReserve(t *testing.T) {
	o := &origin{body: blob(100_000, 2), etag: `"v1"`}
	srv := httptest.NewServer(o)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "state")
	os.MkdirAll(dir, 0o700)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	c := newClient(t, srv.URL, func(o *Options) { o.Dir = dir; o.Reserve = free - 50_000 })
	res, err := c.Sync(context.Background(), &recorder{})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "reserve") || res.Bytes != 0 {
		t.Fatalf("reserve: %+v %v", res, err)
	}
}

// TestRefusedBundleRetried: the ETag is recorded only after a successful
// import, so a refused bundle is fetched again on the next window (the
// office may have fixed the lane's key, or the lane its clock) and the
// refusal says why.
func TestRefusedBundleRetried(t *testing.T) {
	o := &origin{body: blob(1000, 6), etag: `"v1"`}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	imp := &recorder{fail: errors.New("bad signature")}
	_, err := c.Sync(context.Background(), imp)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("refused import: %v", err)
	}
	if _, err := os.Stat(c.path(lastTag)); !os.IsNotExist(err) {
		t.Errorf("ETag of a refused bundle recorded (%v)", err)
	}
	imp.fail = nil
	res, err := c.Sync(context.Background(), imp)
	if err != nil || res.NotModified || len(imp.got) != 2 {
		t.Fatalf("next window: %+v %v, %d imports", res, err, len(imp.got))
	}
	if res, err := c.Sync(context.Background(), imp); err != nil || !res.NotModified {
		t.Fatalf("after a successful import: %+v %v", res, err)
	}
}

// TestHTTPSOnly: plain http:// is refused unless the test-only AllowHTTP
// is set, and no redirect may leave https or the configured host.
func TestHTTPSOnly(t *testing.T) {
	if _, err := New(Options{URL: "http://office.example/g.bundle", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http:// accepted: %v", err)
	}
	plain := httptest.NewServer(&origin{body: blob(1000, 1), etag: `"p"`})
	defer plain.Close()
	mux := http.NewServeMux()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
	mux.Handle("/g.bundle", &origin{body: blob(1000, 2), etag: `"s"`})
	mux.Handle("/to-http", http.RedirectHandler(plain.URL+"/g.bundle", http.StatusFound))
	otherHost := strings.Replace(tlsSrv.URL, "127.0.0.1", "example.com", 1)
	mux.Handle("/to-other-host", http.RedirectHandler(otherHost+"/g.bundle", http.StatusFound))
	mux.Handle("/same-host", http.RedirectHandler("/g.bundle", http.StatusMovedPermanently))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, "CERTIFICATE", tlsSrv.Certificate().Raw)
	for path, want := range map[string]string{"/to-http": "leaves https", "/to-other-host": "leaves host", "/same-host": ""} {
		c, err := New(Options{URL: tlsSrv.URL + path, Dir: filepath.Join(t.TempDir(), "s"), CAFile: ca})
		if err != nil {
			t.Fatal(err)
		}
		imp := &recorder{}
		_, err = c.Sync(context.Background(), imp)
		c.Close()
		switch {
		case want == "" && (err != nil || len(imp.got) != 1):
			t.Errorf("%s: %v", path, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want) || len(imp.got) != 0):
			t.Errorf("%s: err %v, %d imports; want %q", path, err, len(imp.got), want)
		}
	}
}

// TestPartialIsPrivate: the partial download is 0600 even when an old one
// was not.
func TestPartialIsPrivate(t *testing.T) {
	o := &origin{body: blob(300_000, 3), etag: `"v1"`, cutAt: 100_000}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	os.MkdirAll(c.opts.Dir, 0o700)
	os.WriteFile(c.path(partialName), []byte("old"), 0o644)
	os.Chmod(c.path(partialName), 0o644)
	c.Sync(context.Background(), &recorder{})
	st, err := os.Stat(c.path(partialName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("partial: %v %v", st.Mode(), err)
	}
}

// switchHandler lets a test replace the server's behaviour between syncs.
type switchHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *switchHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }
func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	h.ServeHTTP(w, r)
}
