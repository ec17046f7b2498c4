package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/laned/laned/internal/tlsfiles"
)

// testPKI makes a CA and a server certificate for name, valid for days.
func testPKI(t *testing.T, name string, days int) (caFile string, cert tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "laned test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(days) * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsBroker accepts TLS connections and completes handshakes.
func tlsBroker(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func TestBroker(t *testing.T) {
	caFile, cert := testPKI(t, "broker.lane.test", 90)
	addr := tlsBroker(t, cert)
	url := "ssl://" + addr
	cfg, err := tlsfiles.Client(caFile, "", "", "broker.lane.test")
	if err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, Broker(url, cfg, false))
	wantPass(t, r)
	t.Log(r.Detail)

	sys, _ := tlsfiles.Client("", "", "", "broker.lane.test")
	wantFail(t, runCheck(t, Broker(url, sys, false)), url, "unknown authority")
	other, _ := tlsfiles.Client(caFile, "", "", "other.lane.test")
	wantFail(t, runCheck(t, Broker(url, other, false)), url, "another name")

	_, foreign := testPKI(t, "broker.lane.test", 90)
	addrForeign := tlsBroker(t, foreign)
	// Same name, signed by another CA: a broker impostor.
	wantFail(t, runCheck(t, Broker("ssl://"+addrForeign, cfg, false)), "ssl://"+addrForeign, "unknown authority")

	// Broker down: a port nobody listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "ssl://" + ln.Addr().String()
	ln.Close()
	wantFail(t, runCheck(t, Broker(down, cfg, false)), down, "unreachable")

	plain, _ := net.Listen("tcp", "127.0.0.1:0")
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	wantFail(t, runCheck(t, Broker("tcp://"+plain.Addr().String(), nil, false)), "without TLS")
	wantPass(t, runCheck(t, Broker("tcp://"+plain.Addr().String(), nil, true)))
	wantFail(t, runCheck(t, Broker("broker:8883", nil, false)), "broker:8883")
}

func TestBrokerCertificateExpiringSoon(t *testing.T) {
	caFile, cert := testPKI(t, "broker.lane.test", 3)
	addr := tlsBroker(t, cert)
	cfg, _ := tlsfiles.Client(caFile, "", "", "broker.lane.test")
	wantFail(t, runCheck(t, Broker("ssl://"+addr, cfg, false)), "expires in 2 days", "renew")
}
