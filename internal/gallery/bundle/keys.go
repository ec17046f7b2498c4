package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/laned/laned/internal/safefile"
)

const (
	privatePEM = "LANED GALLERY SIGNING KEY"
	publicPEM  = "LANED GALLERY PUBLIC KEY"
)

// GenerateKey makes an Ed25519 signing key and writes the private key to
// path (mode 0600, refusing to overwrite) and the public key to path+".pub"
// (0644). Both are PEM files holding the raw key bytes.
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: privatePEM, Bytes: priv.Seed()}), 0o600); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := writeNew(path+".pub", pem.EncodeToMemory(&pem.Block{Type: publicPEM, Bytes: pub}), 0o644); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write public key: %w", err)
	}
	return pub, nil
}

func writeNew(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadPrivateKey reads a signing key written by GenerateKey, refusing a file
// that group or others can read.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load signing key %s: %w (a %s)", path, safefile.ErrNotRegular, safefile.TypeOf(st.Mode()))
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load signing key %s: mode %04o lets others read it, want 0600", path, st.Mode().Perm())
	}
	b, err := readPEM(path, privatePEM)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("load signing key %s: %d bytes, want %d", path, len(b), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// LoadPublicKey reads a public key written by GenerateKey.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := readPEM(path, publicPEM)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("load public key %s: %d bytes, want %d", path, len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func readPEM(path, typ string) ([]byte, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if typ == publicPEM { // whoever can rewrite a trust key decides what is trusted
		if err := safefile.CheckNotWritableByOthers(f); err != nil {
			return nil, err
		}
	}
	raw, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("%s: not a PEM %q block", path, strings.ToLower(typ))
	}
	return blk.Bytes, nil
}

// KeyRing is the set of public keys a lane trusts to sign galleries.
type KeyRing map[KeyID]ed25519.PublicKey

// NewKeyRing returns a KeyRing of the given keys.
func NewKeyRing(keys ...ed25519.PublicKey) KeyRing {
	kr := KeyRing{}
	for _, k := range keys {
		kr[KeyIDOf(k)] = k
	}
	return kr
}

// LoadKeyRing reads public key files into a KeyRing.
func LoadKeyRing(paths ...string) (KeyRing, error) {
	if len(paths) == 0 {
		return nil, errors.New("load trusted keys: no public key file given")
	}
	kr := KeyRing{}
	for _, p := range paths {
		k, err := LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		kr[KeyIDOf(k)] = k
	}
	return kr, nil
}
