package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/laned/laned/internal/safefile"
)

// KeySize is the length of the at-rest key: AES-256.
const KeySize = 32

// CredentialEnv is the variable systemd sets to the directory of a unit's
// credentials (LoadCredential=/SetCredentialEncrypted=).
const CredentialEnv = "CREDENTIALS_DIRECTORY"

// Key encrypts and decrypts stored records with AES-256-GCM.
type Key struct{ aead cipher.AEAD }

// NewKey wraps 32 raw key bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("gallery key: %d bytes, want %d", len(raw), KeySize)
	}
	blk, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("gallery key: %w", err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("gallery key: %w", err)
	}
	return &Key{aead: aead}, nil
}

// LoadKeyFile reads a key file: 32 raw bytes or 64 hex digits (a trailing
// newline is allowed). It refuses a file that group or others may read or
// write.
func LoadKeyFile(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load gallery key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("load gallery key %s: not a regular file (a %s)", path, safefile.TypeOf(st.Mode()))
	}
	if p := st.Mode().Perm(); p&0o077 != 0 {
		return nil, fmt.Errorf("load gallery key %s: mode %04o is open to group/others, want 0600 or 0400", path, p)
	}
	b, err := safefile.ReadFile(path, 4<<10)
	if err != nil {
		return nil, fmt.Errorf("load gallery key: %w", err)
	}
	raw, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("load gallery key %s: %w", path, err)
	}
	return NewKey(raw)
}

// LoadCredential reads the key from the systemd credential name, i.e.
// $CREDENTIALS_DIRECTORY/name.
func LoadCredential(name string) (*Key, error) {
	dir := os.Getenv(CredentialEnv)
	if dir == "" {
		return nil, fmt.Errorf("load gallery key credential %q: $%s is not set (no LoadCredential= in the unit?)", name, CredentialEnv)
	}
	if name == "" || filepath.Base(name) != name {
		return nil, fmt.Errorf("load gallery key credential %q: not a plain name", name)
	}
	return LoadKeyFile(filepath.Join(dir, name))
}

func parseKey(b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return b, nil
	}
	t := bytes.TrimSpace(b)
	if len(t) == 2*KeySize {
		raw := make([]byte, KeySize)
		if _, err := hex.Decode(raw, t); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("%d bytes: want %d raw bytes or %d hex digits", len(b), KeySize, 2*KeySize)
}

// GenerateKeyFile writes a new random key as hex to path with mode 0600,
// refusing to overwrite.
func GenerateKeyFile(path string) error {
	raw := make([]byte, KeySize)
	rand.Read(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("generate gallery key: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%x\n", raw); err != nil {
		f.Close()
		return fmt.Errorf("generate gallery key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("generate gallery key: %w", err)
	}
	return f.Close()
}

const (
	nonceSize   = 12
	aadPrefix   = "laned-gallery-record-v1\x00"
	checkAAD    = "laned-gallery-keycheck-v1"
	checkPlainN = 32
)

// recordAAD binds a stored record to its generation and subject id, so a
// ciphertext moved to another key or generation fails to open.
func recordAAD(dst []byte, gen uint64, subject []byte) []byte {
	dst = append(dst[:0], aadPrefix...)
	dst = binary.BigEndian.AppendUint64(dst, gen)
	return append(dst, subject...)
}

// seal appends nonce||ciphertext of plain to dst; nonce must be 12 fresh
// random bytes.
func (k *Key) seal(dst, nonce, plain, aad []byte) []byte {
	dst = append(dst, nonce...)
	return k.aead.Seal(dst, nonce, plain, aad)
}

func (k *Key) open(dst, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+k.aead.Overhead() {
		return nil, errors.New("stored record too short")
	}
	return k.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], aad)
}

// checkValue is what meta/keycheck holds: an encryption of zeros.
func (k *Key) checkValue() []byte {
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	return k.seal(nil, nonce, make([]byte, checkPlainN), []byte(checkAAD))
}

func (k *Key) verifyCheck(v []byte) bool {
	p, err := k.open(nil, v, []byte(checkAAD))
	return err == nil && bytes.Equal(p, make([]byte, checkPlainN))
}
