package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/laned/laned/internal/safefile"
)

// Client returns a TLS 1.2+ client configuration. caFile "" keeps the
// system roots; certFile and keyFile go together or not at all; serverName
// "" verifies the host the connection dials.
func Client(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pem, err := safefile.ReadFile(caFile, maxPEM)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificate", caFile)
		}
		c.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("client certificate and key go together")
	}
	if certFile != "" {
		kp, err := loadKeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s: %w", certFile, err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}

// maxPEM bounds a certificate or key file.
const maxPEM = 1 << 20

// loadKeyPair is tls.LoadX509KeyPair through safefile: a FIFO or device
// given as a file is refused at once instead of blocking in open(2).
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := safefile.ReadFile(certFile, maxPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	k, err := safefile.ReadFile(keyFile, maxPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(c, k)
}
