package console

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. DefaultParams follows RFC 9106's
// second recommendation (64 MiB, 3 passes) with the booth's 2 cores.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams is used for new passwords.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Verification bounds: a credential file asking for more is refused (a
// tampered file must not make every login allocate gigabytes).
const (
	maxMemory  = 1 << 20 // KiB = 1 GiB
	maxTime    = 16
	minPassLen = 10
	maxPassLen = 256
)

// HashPassword returns the PHC string of password:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded base64).
func HashPassword(password string, p Params) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

func checkPassword(pw string) error {
	switch {
	case len(pw) < minPassLen:
		return fmt.Errorf("password too short (at least %d characters)", minPassLen)
	case len(pw) > maxPassLen:
		return fmt.Errorf("password too long (at most %d bytes)", maxPassLen)
	case strings.ContainsAny(pw, "\r\n\x00"):
		return errors.New("password contains a line break or NUL")
	}
	return nil
}

type phc struct {
	p          Params
	salt, hash []byte
}

// parsePHC parses an argon2id PHC string, refusing other algorithms,
// versions and out-of-bounds costs.
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, errors.New("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return phc{}, fmt.Errorf("argon2 version %q, want v=%d", parts[2], argon2.Version)
	}
	var h phc
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.p.Memory, &h.p.Time, &threads); err != nil || n != 3 {
		return phc{}, fmt.Errorf("argon2 parameters %q", parts[3])
	}
	if h.p.Memory < 8 || h.p.Memory > maxMemory || h.p.Time < 1 || h.p.Time > maxTime || threads < 1 || threads > 255 {
		return phc{}, fmt.Errorf("argon2 parameters %q out of bounds", parts[3])
	}
	h.p.Threads = uint8(threads)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return phc{}, errors.New("argon2 salt is not base64 of at least 8 bytes")
	}
	if h.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.hash) < 16 || len(h.hash) > 64 {
		return phc{}, errors.New("argon2 hash is not base64 of 16 to 64 bytes")
	}
	return h, nil
}

func (h phc) verify(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.hash)))
	return subtle.ConstantTimeCompare(key, h.hash) == 1
}

// User is one console account.
type User struct {
	Name string
	Role Role
	Hash string // PHC string
}

var userName = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

// ValidUserName reports whether s is an acceptable login name.
func ValidUserName(s string) bool { return userName.MatchString(s) }

// Users is the credential file: one "name:role:PHC" line per technician,
// mode 0600. There is no default account: an empty or missing file lets
// nobody log in on the serial port.
type Users struct {
	path string

	mu    sync.Mutex
	users map[string]User
	dummy phc // verified against for unknown names, so timing says nothing
}

// LoadUsers reads path. A missing file is an empty set (no logins); a file
// readable by group or others, or not a regular file, is refused.
func LoadUsers(path string) (*Users, error) {
	u := &Users{path: path, users: map[string]User{}}
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console users %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("console users %s: not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("console users %s: mode %04o, want 0600 (it holds password hashes)", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console users %s: %w", path, err)
	}
	if err := u.parse(data); err != nil {
		return nil, fmt.Errorf("console users %s: %w", path, err)
	}
	return u, nil
}

// dummyHash is what an unknown name is verified against: a hash with the
// cost of the first real account, so a wrong name takes as long as a wrong
// password.
func (u *Users) dummyHash() phc {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dummy.hash != nil {
		return u.dummy
	}
	p := DefaultParams
	for _, x := range u.users {
		if h, err := parsePHC(x.Hash); err == nil {
			p = h.p
			p.SaltLen, p.KeyLen = uint32(len(h.salt)), uint32(len(h.hash))
			break
		}
	}
	s, _ := HashPassword("dummy-password-for-unknown-users", p)
	u.dummy, _ = parsePHC(s)
	return u.dummy
}

func (u *Users) parse(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return fmt.Errorf("line %d: want name:role:hash", n)
		}
		if !ValidUserName(f[0]) {
			return fmt.Errorf("line %d: bad user name %q", n, f[0])
		}
		role, err := ParseRole(f[1])
		if err != nil {
			return fmt.Errorf("line %d (%s): %w", n, f[0], err)
		}
		if _, err := parsePHC(f[2]); err != nil {
			return fmt.Errorf("line %d (%s): %w", n, f[0], err)
		}
		if _, dup := u.users[f[0]]; dup {
			return fmt.Errorf("line %d: user %s listed twice", n, f[0])
		}
		u.users[f[0]] = User{Name: f[0], Role: role, Hash: f[2]}
	}
	return sc.Err()
}

// Len is the number of accounts.
func (u *Users) Len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.users)
}

// Verify checks name and password. Unknown names cost the same as a wrong
// password. It returns the user's role on success.
func (u *Users) Verify(name, password string) (Role, bool) {
	u.mu.Lock()
	usr, ok := u.users[name]
	u.mu.Unlock()
	if !ok {
		u.dummyHash().verify(password)
		return RoleNone, false
	}
	h, err := parsePHC(usr.Hash)
	if err != nil || !h.verify(password) {
		return RoleNone, false
	}
	return usr.Role, true
}

// Set adds or replaces a user's password and role and rewrites the file
// atomically with mode 0600, keeping the owner of an existing file (the
// daemon's user must still read it).
func (u *Users) Set(name string, role Role, password string, p Params) error {
	if !ValidUserName(name) {
		return fmt.Errorf("bad user name %q (lower case letters, digits, _ . -; at most 32)", name)
	}
	if role == RoleNone {
		return errors.New("a console user needs a role (viewer or technician)")
	}
	hash, err := HashPassword(password, p)
	if err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[name] = User{Name: name, Role: role, Hash: hash}
	u.dummy = phc{}
	return u.writeLocked()
}

// Delete removes a user.
func (u *Users) Delete(name string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.users[name]; !ok {
		return fmt.Errorf("no console user %q", name)
	}
	delete(u.users, name)
	return u.writeLocked()
}

// Names lists the accounts with their roles, sorted.
func (u *Users) Names() []User {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]User, 0, len(u.users))
	for _, x := range u.users {
		out = append(out, User{Name: x.Name, Role: x.Role})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (u *Users) writeLocked() error {
	var b bytes.Buffer
	b.WriteString("# laned console users: name:role:argon2id. Managed by 'laned console passwd'.\n")
	names := make([]string, 0, len(u.users))
	for n := range u.users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		x := u.users[n]
		fmt.Fprintf(&b, "%s:%s:%s\n", x.Name, x.Role, x.Hash)
	}
	uid, gid := -1, -1
	if st, err := os.Stat(u.path); err == nil {
		if s, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(s.Uid), int(s.Gid)
		}
	}
	dir := filepath.Dir(u.path)
	f, err := os.CreateTemp(dir, ".console-users-*")
	if err != nil {
		return fmt.Errorf("console users %s: %w", u.path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err == nil && uid >= 0 {
		err = f.Chown(uid, gid)
		if err != nil && !errors.Is(err, fs.ErrPermission) {
			f.Close()
			return fmt.Errorf("console users %s: %w", u.path, err)
		}
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("console users %s: %w", u.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("console users %s: %w", u.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("console users %s: %w", u.path, err)
	}
	if err := os.Rename(tmp, u.path); err != nil {
		return fmt.Errorf("console users %s: %w", u.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
