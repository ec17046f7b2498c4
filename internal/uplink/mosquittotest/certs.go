package mosquittotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certs are PEM files generated for one test.
type Certs struct {
	Dir string
	// CA signs every certificate below; OtherCA signs nothing the broker uses.
	CA, OtherCA string
	// Server certificates (cert, key): for 127.0.0.1/localhost, expired,
	// and valid but for another host name only.
	Server, ServerKey               string
	Expired, ExpiredKey             string
	WrongHost, WrongHostKey         string
	Client, ClientKey               string
	ExpiredClient, ExpiredClientKey string
}

type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// GenerateCerts writes a CA, server and client certificates to dir.
func GenerateCerts(dir string) (*Certs, error) {
	c := &Certs{Dir: dir}
	now := time.Now()
	ca, err := writeCert(dir, "ca", nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "laned test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
	}, &c.CA, nil)
	if err != nil {
		return nil, err
	}
	if _, err := writeCert(dir, "other-ca", nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "unrelated CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
	}, &c.OtherCA, nil); err != nil {
		return nil, err
	}
	server := func(name string, hosts []string, ips []net.IP, nb, na time.Time, cert, key *string) error {
		_, err := writeCert(dir, name, ca, &x509.Certificate{
			Subject: pkix.Name{CommonName: name}, DNSNames: hosts, IPAddresses: ips,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
			NotBefore: nb, NotAfter: na,
		}, cert, key)
		return err
	}
	lo := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	if err := server("server", []string{"localhost"}, lo, now.Add(-time.Hour), now.Add(24*time.Hour), &c.Server, &c.ServerKey); err != nil {
		return nil, err
	}
	if err := server("expired", []string{"localhost"}, lo, now.Add(-48*time.Hour), now.Add(-24*time.Hour), &c.Expired, &c.ExpiredKey); err != nil {
		return nil, err
	}
	if err := server("wronghost", []string{"broker.elsewhere.example"}, nil, now.Add(-time.Hour), now.Add(24*time.Hour), &c.WrongHost, &c.WrongHostKey); err != nil {
		return nil, err
	}
	client := func(name string, nb, na time.Time, cert, key *string) error {
		_, err := writeCert(dir, name, ca, &x509.Certificate{
			Subject: pkix.Name{CommonName: name}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			KeyUsage: x509.KeyUsageDigitalSignature, NotBefore: nb, NotAfter: na,
		}, cert, key)
		return err
	}
	if err := client("client", now.Add(-time.Hour), now.Add(24*time.Hour), &c.Client, &c.ClientKey); err != nil {
		return nil, err
	}
	if err := client("expired-client", now.Add(-48*time.Hour), now.Add(-24*time.Hour), &c.ExpiredClient, &c.ExpiredClientKey); err != nil {
		return nil, err
	}
	return c, nil
}

func writeCert(dir, name string, parent *issuer, tmpl *x509.Certificate, certPath, keyPath *string) (*issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		return nil, fmt.Errorf("mosquittotest: create %s certificate: %w", name, err)
	}
	cert, _ := x509.ParseCertificate(der)
	*certPath = filepath.Join(dir, name+".crt")
	if err := os.WriteFile(*certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, name+".key")
	if keyPath != nil {
		*keyPath = p
	}
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	return &issuer{cert: cert, key: key}, nil
}
