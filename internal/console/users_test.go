package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/laned/laned/internal/clock"
)

func TestUsersSetVerifyReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	u, err := LoadUsers(path)
	if err != nil || u.Len() != 0 {
		t.Fatalf("missing file: %v, %d users (want none: no default account)", err, u.Len())
	}
	if _, ok := u.Verify("root", ""); ok {
		t.Fatal("empty set let someone in")
	}
	if err := u.Set("tom", RoleTechnician, tomPassword, testParams); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), tomPassword) || !strings.Contains(string(data), "tom:technician:$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("file:\n%s", data)
	}
	u, err = LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := u.Verify("tom", tomPassword); !ok || r != RoleTechnician {
		t.Fatalf("verify: %v %v", r, ok)
	}
	for _, bad := range [][2]string{{"tom", "wrong password!"}, {"tom", ""}, {"nobody", tomPassword}, {"Tom", tomPassword}} {
		if _, ok := u.Verify(bad[0], bad[1]); ok {
			t.Errorf("Verify(%q, %q) passed", bad[0], bad[1])
		}
	}
	if err := u.Delete("tom"); err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Verify("tom", tomPassword); ok {
		t.Fatal("deleted user still logs in")
	}
}

func TestHashUsesDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB argon2id")
	}
	h, err := HashPassword(tomPassword, DefaultParams)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("%q %v", h, err)
	}
	p, err := parsePHC(h)
	if err != nil || !p.verify(tomPassword) || p.verify("x"+tomPassword) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestUsersRefuses(t *testing.T) {
	dir := t.TempDir()
	good, _ := HashPassword(tomPassword, testParams)
	cases := map[string]struct {
		body string
		mode os.FileMode
		want string
	}{
		"group readable": {"tom:technician:" + good + "\n", 0o640, "want 0600"},
		"bad role":       {"tom:admin:" + good + "\n", 0o600, `unknown console role "admin"`},
		"bad name":       {"Tom Smith:viewer:" + good + "\n", 0o600, "bad user name"},
		"no hash":        {"tom:viewer\n", 0o600, "want name:role:hash"},
		"bcrypt":         {"tom:viewer:$2y$10$abcdefghijklmnopqrstuv\n", 0o600, "not an argon2id"},
		"huge memory":    {"tom:viewer:$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA\n", 0o600, "out of bounds"},
		"duplicate":      {"tom:viewer:" + good + "\ntom:technician:" + good + "\n", 0o600, "listed twice"},
	}
	for name, tc := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(tc.body), tc.mode)
		os.Chmod(p, tc.mode)
		if _, err := LoadUsers(p); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want %q naming the file", name, err, tc.want)
		}
	}
	if _, err := LoadUsers(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	u, _ := LoadUsers(filepath.Join(dir, "new"))
	for _, pw := range []string{"short", strings.Repeat("x", 300), "line\nbreak-password"} {
		if err := u.Set("tom", RoleViewer, pw, testParams); err == nil {
			t.Errorf("password %q accepted", pw)
		}
	}
	if err := u.Set("tom", RoleNone, tomPassword, testParams); err == nil {
		t.Error("role none accepted")
	}
}

func TestLimiter(t *testing.T) {
	clk := clock.NewFake(t0)
	l := NewLimiter(LoginPolicy{}, clk)
	var delays []time.Duration
	for i := 0; i < 4; i++ {
		d, n, locked := l.Fail("user:a", "port:x")
		if locked || n != i+1 {
			t.Fatalf("failure %d: locked %v count %d", i+1, locked, n)
		}
		delays = append(delays, d)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !equalDurations(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	if _, locked := l.Locked("user:a"); locked {
		t.Fatal("locked before the 5th failure")
	}
	if d, _, locked := l.Fail("user:a", "port:x"); !locked || d != 15*time.Minute {
		t.Fatalf("5th failure: %v %v", d, locked)
	}
	// Another name on the same port is locked too: cycling names does not help.
	if left, locked := l.Locked("user:b", "port:x"); !locked || left != 15*time.Minute {
		t.Fatalf("port lock: %v %v", left, locked)
	}
	clk.Advance(15 * time.Minute)
	if _, locked := l.Locked("user:a", "port:x"); locked {
		t.Fatal("lock outlived its time")
	}
	if d, n, _ := l.Fail("user:a"); n != 1 || d != time.Second {
		t.Fatalf("after the lock the count starts again: %v %d", d, n)
	}
	l.Success("user:a")
	if _, n, _ := l.Fail("user:a"); n != 1 {
		t.Fatalf("success did not clear: %d", n)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
