package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/laned/laned/internal/console"
)

// TestUnitExposure re-measures the daemon unit's hardening.
func TestUnitExposure(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze")
	}
	for unit, limit := range map[string]float64{"laned.service": 2.0, "laned-console@.service": 1.0} {
		out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "../systemd/"+unit).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no exposure figure (%v):\n%s", unit, err, out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s exposure %.1f", unit, v)
		if v > limit {
			t.Errorf("%s exposure %.1f, want ≤ %.1f", unit, v, limit)
		}
	}
}

func TestMaintainerScriptsParse(t *testing.T) {
	for _, s := range []string{"postinst", "prerm", "postrm", "build.sh"} {
		sh := "sh"
		if s == "build.sh" {
			sh = "bash"
		}
		if out, err := exec.Command(sh, "-n", filepath.Join("debian", s)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}

// TestExampleConfigConsoleSection parses the shipped fallback example's
// console section strictly and validates it.
func TestExampleConfigConsoleSection(t *testing.T) {
	data, err := os.ReadFile("debian/laned.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConsoleSection(data); err != nil {
		t.Fatal(err)
	}
}

// checkConsoleSection decodes the console section (if any) of a laned
// configuration with unknown keys refused, over the defaults, and validates.
func checkConsoleSection(data []byte) error {
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	node, ok := top["console"]
	if !ok {
		return nil
	}
	b, err := yaml.Marshal(&node)
	if err != nil {
		return err
	}
	cfg := console.DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("config console: %w", err)
	}
	return cfg.Validate()
}

// TestDebInstallsInCleanDebian12 builds the package, installs it with apt
// into a fresh Debian 12 chroot and checks what a booth would have.
// LANED_DEB=1 enables it (root, debootstrap, the Debian mirror); the
// debootstrapped base and apt's downloads are cached in LANED_DEB_CACHE
// (default $TMPDIR/laned-deb-cache). LANED_DEB_FILE skips the build.
func TestDebInstallsInCleanDebian12(t *testing.T) {
	if os.Getenv("LANED_DEB") == "" {
		t.Skip("set LANED_DEB=1 to build the .deb and install it into a debootstrapped Debian 12 chroot (root; minutes)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("LANED_DEB needs root (debootstrap, chroot, mount)")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Fatal("LANED_DEB needs debootstrap: apt-get install debootstrap")
	}
	start := time.Now()
	cache := os.Getenv("LANED_DEB_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "laned-deb-cache")
	}
	must(t, os.MkdirAll(filepath.Join(cache, "archives", "partial"), 0o755))

	deb := os.Getenv("LANED_DEB_FILE")
	if deb == "" {
		models := os.Getenv("LANED_MODEL_DIR")
		if models == "" {
			models = "../models/cache"
		}
		out := t.TempDir()
		run(t, "", "bash", "debian/build.sh", "0.1.0~test", models, out)
		m, _ := filepath.Glob(filepath.Join(out, "laned_*.deb"))
		if len(m) != 1 {
			t.Fatalf("build made %v", m)
		}
		deb = m[0]
	}
	t.Logf("package %s built in %s", filepath.Base(deb), time.Since(start).Round(time.Second))
	if _, err := exec.LookPath("lintian"); err == nil {
		out, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "W:") {
				t.Errorf("lintian: %s", l)
			}
		}
	}

	base := filepath.Join(cache, "bookworm-minbase.tar.gz")
	if _, err := os.Stat(base); err != nil {
		t0 := time.Now()
		dir := filepath.Join(cache, "bootstrap")
		os.RemoveAll(dir)
		run(t, "", "debootstrap", "--variant=minbase", "bookworm", dir, "http://deb.debian.org/debian")
		run(t, "", "tar", "-C", dir, "--numeric-owner", "-czf", base+".tmp", ".")
		must(t, os.Rename(base+".tmp", base))
		os.RemoveAll(dir)
		t.Logf("debootstrap bookworm minbase: %s (cached in %s)", time.Since(t0).Round(time.Second), base)
	}
	root := filepath.Join(t.TempDir(), "root")
	must(t, os.MkdirAll(root, 0o755))
	run(t, "", "tar", "-C", root, "--numeric-owner", "-xzf", base)
	mount(t, "proc", filepath.Join(root, "proc"), "proc", 0)
	mount(t, filepath.Join(cache, "archives"), filepath.Join(root, "var/cache/apt/archives"), "", syscall.MS_BIND)
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		os.WriteFile(filepath.Join(root, "etc/resolv.conf"), b, 0o644)
	}
	b, err := os.ReadFile(deb)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "tmp/laned.deb"), b, 0o644))

	t1 := time.Now()
	chroot(t, root, "apt-get", "update", "-qq")
	chroot(t, root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "/tmp/laned.deb")
	t.Logf("apt install ./laned.deb with dependencies: %s", time.Since(t1).Round(time.Second))

	// Files and permissions.
	for _, f := range []struct {
		path  string
		mode  os.FileMode
		owner string
	}{
		{"usr/bin/laned", 0o755, "root"},
		{"lib/systemd/system/laned.service", 0o644, "root"},
		{"lib/systemd/system/laned-console@.service", 0o644, "root"},
		{"lib/udev/rules.d/60-laned-gpio.rules", 0o644, "root"},
		{"usr/lib/sysusers.d/laned.conf", 0o644, "root"},
		{"usr/lib/tmpfiles.d/laned.conf", 0o644, "root"},
		{"etc/laned/laned.yaml", 0o644, "root"},
		{"etc/laned/credentials", 0o700 | os.ModeDir, "root"},
		{"etc/laned/credentials/gallery-key", 0o600, "root"},
		{"etc/laned/credentials/broker-password", 0o600, "root"},
		{"etc/laned/console-users", 0o600, "laned"},
		{"var/lib/laned", 0o750 | os.ModeDir, "laned"},
		{"usr/share/laned/models/face_recognition.onnx", 0o644, "root"},
		{"usr/share/man/man1/laned.1.gz", 0o644, "root"},
	} {
		st, err := os.Lstat(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("/%s: %v", f.path, err)
			continue
		}
		owner := lookupName(t, root, "passwd", st.Sys().(*syscall.Stat_t).Uid)
		if st.Mode() != f.mode || owner != f.owner {
			t.Errorf("/%s: %v owned by %s, want %v owned by %s", f.path, st.Mode(), owner, f.mode, f.owner)
		}
	}
	if l, err := os.Readlink(filepath.Join(root, "var/lib/laned/models")); err != nil || l != "/usr/share/laned/models" {
		t.Errorf("/var/lib/laned/models → %q, %v", l, err)
	}
	if l, err := os.Readlink(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/laned.service")); err != nil || !strings.HasSuffix(l, "/laned.service") {
		t.Errorf("laned.service not enabled without systemd: %q %v", l, err)
	}

	// Users and groups.
	pw := entries(t, root, "passwd")
	u, ok := pw["laned"]
	if !ok {
		t.Fatal("no user laned")
	}
	uid, _ := strconv.Atoi(u[1])
	if uid >= 1000 || u[4] != "/var/lib/laned" || u[5] != "/usr/sbin/nologin" {
		t.Errorf("user laned: %v (want a system user, home /var/lib/laned, no login shell)", u)
	}
	gr := entries(t, root, "group")
	for _, g := range []string{"gpio", "laned-console", "laned-technician", "laned"} {
		if _, ok := gr[g]; !ok {
			t.Errorf("no group %s", g)
		}
	}
	for _, g := range []string{"video", "gpio", "dialout"} {
		if !contains(strings.Split(gr[g][2], ","), "laned") {
			t.Errorf("laned not in group %s: %v", g, gr[g])
		}
	}

	// The binary runs (its shared libraries resolved by apt), the models
	// verify where laned looks by default, the console credentials work.
	if out := chroot(t, root, "laned", "version"); !strings.Contains(out, "0.1.0~test") {
		t.Errorf("laned version: %s", out)
	}
	chroot(t, root, "laned", "models", "verify")
	chrootIn(t, root, "a-technician-password\n", "laned", "console", "passwd", "--stdin", "--role", "technician", "tech1")
	if out := chroot(t, root, "runuser", "-u", "laned", "--", "laned", "console", "users"); !strings.Contains(out, "tech1") || !strings.Contains(out, "technician") {
		t.Errorf("console users as laned: %s", out)
	}
	st, _ := os.Stat(filepath.Join(root, "etc/laned/console-users"))
	if st.Mode().Perm() != 0o600 || lookupName(t, root, "passwd", st.Sys().(*syscall.Stat_t).Uid) != "laned" {
		t.Errorf("console-users after passwd: %v", st.Mode())
	}
	cfg, err := os.ReadFile(filepath.Join(root, "etc/laned/laned.yaml"))
	must(t, err)
	if err := checkConsoleSection(cfg); err != nil {
		t.Errorf("installed config: %v", err)
	}
	if strings.Contains(chroot(t, root, "laned", "help"), "config check") {
		chroot(t, root, "laned", "config", "check", "/etc/laned/laned.yaml")
	}

	// Purge removes the state and the configuration.
	must(t, os.WriteFile(filepath.Join(root, "var/lib/laned/outbox.db"), []byte("state"), 0o600))
	chroot(t, root, "apt-get", "purge", "-y", "-qq", "laned")
	for _, p := range []string{"var/lib/laned", "etc/laned", "usr/bin/laned", "etc/systemd/system/multi-user.target.wants/laned.service"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("/%s still there after purge (%v)", p, err)
		}
	}
	t.Logf("whole test %s", time.Since(start).Round(time.Second))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8")
	if name == "chroot" {
		// A booth's root shell, not the test's environment (LANED_MODEL_DIR).
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out))
	}
	return string(out)
}

func chroot(t *testing.T, root string, args ...string) string {
	t.Helper()
	return run(t, "", "chroot", append([]string{root}, args...)...)
}

func chrootIn(t *testing.T, root, stdin string, args ...string) string {
	t.Helper()
	return run(t, stdin, "chroot", append([]string{root}, args...)...)
}

func tail(b []byte) string {
	lines := strings.Split(string(b), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func mount(t *testing.T, src, dst, fstype string, flags uintptr) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o755))
	if err := syscall.Mount(src, dst, fstype, flags, ""); err != nil {
		t.Fatalf("mount %s on %s: %v", src, dst, err)
	}
	t.Cleanup(func() { syscall.Unmount(dst, syscall.MNT_DETACH) })
}

// entries reads the chroot's passwd or group file by name.
func entries(t *testing.T, root, file string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "etc", file))
	must(t, err)
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > 2 {
			out[fields[0]] = fields[1:]
		}
	}
	return out
}

func lookupName(t *testing.T, root, file string, id uint32) string {
	for name, f := range entries(t, root, file) {
		if f[1] == strconv.FormatUint(uint64(id), 10) {
			return name
		}
	}
	return strconv.FormatUint(uint64(id), 10)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
