package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// State is the publisher's connection state.
type State string

const (
	StateStopped    State = "stopped"
	StateConnecting State = "connecting"
	StateConnected  State = "connected"
)

// Reasons a connection attempt failed, as Status reports them.
const (
	ReasonUnreachable   = "unreachable broker"
	ReasonUnknownCA     = "TLS: unknown CA"
	ReasonWrongHostname = "TLS: wrong hostname"
	ReasonExpired       = "TLS: certificate expired"
	ReasonNotYetValid   = "TLS: certificate not yet valid"
	ReasonBadCert       = "TLS: invalid certificate"
	ReasonClientCert    = "TLS: broker refused our client certificate"
	ReasonTLS           = "TLS: handshake failed"
	ReasonTLSClosed     = "TLS: broker closed the connection in the handshake (client certificate missing or refused, or not a TLS port)"
	ReasonClosed        = "broker closed the connection in the MQTT handshake (a TLS port?)"
	ReasonAuth          = "refused: bad username or password"
	ReasonNotAuthorized = "refused: not authorized"
	ReasonRefused       = "refused by broker"
	ReasonLost          = "connection lost"
	ReasonTimeout       = "timeout"
	ReasonOther         = "last error"
)

// Status says what the publisher is doing and, when not connected, why.
type Status struct {
	State  State
	Broker string // the connected broker, or the last one tried
	// Reason classifies LastError (one of the Reason constants) while
	// connecting; empty when connected.
	Reason    string
	LastError string
	Since     time.Time // when State was entered
	NextRetry time.Time // while connecting

	InFlight    int
	Published   uint64 // PUBLISH packets sent (re-sends included)
	Acked       uint64 // PUBACKs, acknowledged to the outbox
	Quarantined uint64 // refused before sending (oversize, malformed)
	// Refused counts messages rejected because the broker kept dropping
	// the connection on them (the outbox quarantines after MaxAttempts).
	Refused  uint64
	Connects uint64 // successful connections
}

// String is one line for `laned status` and logs.
func (s Status) String() string {
	switch s.State {
	case StateConnected:
		return fmt.Sprintf("connected to %s, %d in flight", s.Broker, s.InFlight)
	case StateConnecting:
		if s.Reason == "" {
			return "connecting"
		}
		return fmt.Sprintf("connecting: %s (%s: %s)", s.Reason, s.Broker, s.LastError)
	}
	if s.LastError != "" {
		return fmt.Sprintf("%s (last error: %s)", s.State, s.LastError)
	}
	return string(s.State)
}

// Classify names why a connection attempt failed.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		al  tls.AlertError
		rh  tls.RecordHeaderError
		ne  net.Error
		cve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &ua):
		return ReasonUnknownCA
	case errors.As(err, &hn):
		return ReasonWrongHostname
	case errors.As(err, &ci):
		switch ci.Reason {
		case x509.Expired:
			if ci.Cert != nil && time.Now().Before(ci.Cert.NotBefore) {
				return ReasonNotYetValid
			}
			return ReasonExpired
		}
		return ReasonBadCert
	case errors.As(err, &cve):
		return ReasonBadCert
	case errors.As(err, &al):
		return ReasonTLS
	case errors.As(err, &rh):
		return ReasonTLS + " (is the broker speaking TLS on this port?)"
	case errors.Is(err, errTLSClosed):
		return ReasonTLSClosed
	case errors.Is(err, errClosed):
		return ReasonClosed
	case strings.Contains(err.Error(), "remote error: tls:") && strings.Contains(err.Error(), "certificate"):
		// The broker sent an alert about our certificate (Go's alert type
		// for TCP connections is not exported).
		return ReasonClientCert
	case errors.Is(err, ErrConnectionLost):
		return ReasonLost
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return ReasonAuth
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return ReasonNotAuthorized
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion), errors.Is(err, packets.ErrorRefusedIDRejected),
		errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return ReasonRefused
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ReasonUnreachable
	case errors.As(err, &ne) && ne.Timeout():
		return ReasonUnreachable + " (" + ReasonTimeout + ")"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return ReasonUnreachable + " (DNS)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return ReasonUnreachable
	}
	if errors.Is(err, errConnectTimeout) {
		return ReasonUnreachable + " (" + ReasonTimeout + ")"
	}
	if strings.Contains(err.Error(), "tls:") {
		return ReasonTLS
	}
	return ReasonOther
}

var (
	errConnectTimeout = errors.New("connect timed out")
	errTLSClosed      = errors.New("closed by the broker during the TLS handshake")
	errClosed         = errors.New("closed by the broker during the MQTT handshake")
)

// ErrConnectionLost wraps the reason an established connection dropped.
var ErrConnectionLost = errors.New(ReasonLost)
