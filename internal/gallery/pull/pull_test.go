package pull

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Importer that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	got  [][]byte
	fail error
}

func (r *recorder) ImportFile(_ context.Context, p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, b)
	return r.fail
}

// origin serves one blob with an ETag through http.ServeContent (which
// implements If-None-Match, Range and If-Range); cutAt > 0 makes the next
// full response die after that many bytes.
type origin struct {
	mu      sync.Mutex
	body    []byte
	etag    string
	cutAt   int
	reqs    []http.Header
	delay   time.Duration
	stallAt int
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	body, etag, cut, delay, stall := o.body, o.etag, o.cutAt, o.delay, o.stallAt
	o.cutAt = 0
	o.reqs = append(o.reqs, r.Header.Clone())
	o.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	w.Header().Set("ETag", etag)
	if cut > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:cut])
		panic(http.ErrAbortHandler) // connection dropped mid-body
	}
	if stall > 0 {
		w.Header().Set("Content-Length", itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:stall])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	http.ServeContent(w, r, "bundle", time.Time{}, bytes.NewReader(body))
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func blob(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func newClient(t *testing.T, url string, mod func(*Options)) *Client {
	t.Helper()
	o := Options{URL: url, Dir: filepath.Join(t.TempDir(), "state"), AllowHTTP: true}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConditionalGet(t *testing.T) {
	o := &origin{body: blob(100_000, 1), etag: `"v1"`}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	imp := &recorder{}
	ctx := context.Background()
	if res, err := c.Sync(ctx, imp); err != nil || res.NotModified || res.Bytes != 100_000 {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	if res, err := c.Sync(ctx, imp); err != nil || !res.NotModified {
		t.Fatalf("second sync: %+v %v", res, err)
	}
	if got := o.reqs[1].Get("If-None-Match"); got != `"v1"` {
		t.Fatalf("If-None-Match %q", got)
	}
	o.mu.Lock()
	o.body, o.etag = blob(50_000, 2), `"v2"`
	o.mu.Unlock()
	if res, err := c.Sync(ctx, imp); err != nil || res.NotModified || res.ETag != `"v2"` {
		t.Fatalf("third sync: %+v %v", res, err)
	}
	if len(imp.got) != 2 || !bytes.Equal(imp.got[0], blob(100_000, 1)) || !bytes.Equal(imp.got[1], blob(50_000, 2)) {
		t.Fatalf("importer got %d files", len(imp.got))
	}
	if _, err := os.Stat(c.path(partialName)); !os.IsNotExist(err) {
		t.Fatal("partial download left behind")
	}
}

func TestResume(t *testing.T) {
	body := blob(300_000, 3)
	o := &origin{body: body, etag: `"v1"`, cutAt: 120_000}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	imp := &recorder{}
	if _, err := c.Sync(context.Background(), imp); err == nil || len(imp.got) != 0 {
		t.Fatalf("cut download: err %v, %d imports", err, len(imp.got))
	}
	st, err := os.Stat(c.path(partialName))
	if err != nil || st.Size() == 0 {
		t.Fatalf("partial not kept: %v", err)
	}
	res, err := c.Sync(context.Background(), imp)
	if err != nil || !res.Resumed || res.Bytes != int64(len(body))-st.Size() {
		t.Fatalf("resume: %+v %v (had %d)", res, err, st.Size())
	}
	if got := o.reqs[1]; got.Get("Range") != "bytes="+itoa(int(st.Size()))+"-" || got.Get("If-Range") != `"v1"` {
		t.Fatalf("resume request headers %v", got)
	}
	if len(imp.got) != 1 || !bytes.Equal(imp.got[0], body) {
		t.Fatal("resumed file differs from the original")
	}
}

func TestResumeAfterChangeRestarts(t *testing.T) {
	o := &origin{body: blob(200_000, 4), etag: `"v1"`, cutAt: 90_000}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	imp := &recorder{}
	c.Sync(context.Background(), imp)
	o.mu.Lock()
	o.body, o.etag = blob(150_000, 5), `"v2"`
	o.mu.Unlock()
	res, err := c.Sync(context.Background(), imp)
	if err != nil || res.Resumed {
		t.Fatalf("after change: %+v %v", res, err)
	}
	if len(imp.got) != 1 || !bytes.Equal(imp.got[0], blob(150_000, 5)) {
		t.Fatal("spliced old and new bundle")
	}
}

func TestTimeouts(t *testing.T) {
	o := &origin{body: blob(1000, 7), etag: `"v1"`, delay: 2 * time.Second}
	srv := httptest.NewServer(o)
	defer srv.Close()
	c := newClient(t, srv.URL, func(o *Options) { o.ConnectTimeout = 100 * time.Millisecond })
	start := time.Now()
	if _, err := c.Sync(context.Background(), &recorder{}); err == nil || time.Since(start) > time.Second {
		t.Fatalf("slow headers: %v after %v", err, time.Since(start))
	}
	o2 := &origin{body: blob(100_000, 7), etag: `"v1"`, stallAt: 1000}
	srv2 := httptest.NewServer(o2)
	defer srv2.Close()
	c2 := newClient(t, srv2.URL, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	if _, err := c2.Sync(context.Background(), &recorder{}); err == nil || !strings.Contains(err.Error(), "kept for resume") {
		t.Fatalf("stalled body: %v", err)
	}
	srv.Close()
	if _, err := c.Sync(context.Background(), &recorder{}); err == nil {
		t.Fatal("no error with the server gone")
	}
}

func TestHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := newClient(t, srv.URL, nil)
	if _, err := c.Sync(context.Background(), &recorder{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	for _, o := range []Options{{URL: "ftp://x", Dir: "d"}, {URL: "https://x"}, {URL: "https://x", Dir: "d", CertFile: "c"}, {URL: "https://x", Dir: "d", CAFile: "/nonexistent"}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// TestMutualTLS: a private CA, a server that requires a client certificate.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := mkCert(t, nil, nil, "laned test CA", true)
	srvCert, srvKey := mkCert(t, ca, caKey, "127.0.0.1", false)
	cliCert, cliKey := mkCert(t, ca, caKey, "lane-17", false)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", ca.Raw)
	writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", cliCert.Raw)
	kb, _ := x509.MarshalECPrivateKey(cliKey)
	writePEM(t, filepath.Join(dir, "client.key"), "EC PRIVATE KEY", kb)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	o := &origin{body: blob(10_000, 8), etag: `"v1"`}
	srv := httptest.NewUnstartedServer(o)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	srv.StartTLS()
	defer srv.Close()

	c := newClient(t, srv.URL, func(o *Options) {
		o.CAFile, o.CertFile, o.KeyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	})
	imp := &recorder{}
	if _, err := c.Sync(context.Background(), imp); err != nil || len(imp.got) != 1 {
		t.Fatalf("mutual TLS: %v", err)
	}
	noCert := newClient(t, srv.URL, func(o *Options) { o.CAFile = filepath.Join(dir, "ca.pem") })
	if _, err := noCert.Sync(context.Background(), imp); err == nil {
		t.Fatal("server accepted a client without a certificate")
	}
	systemRoots := newClient(t, srv.URL, nil)
	if _, err := systemRoots.Sync(context.Background(), imp); err == nil {
		t.Fatal("trusted a private CA without --ca")
	}
}

func mkCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         isCA, BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func writePEM(t *testing.T, p, typ string, b []byte) {
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
		t.Fatal(err)
	}
}
