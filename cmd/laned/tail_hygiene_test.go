package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestTailSecrets: a password never comes from argv (visible in ps), is
// never sent over plain TCP without an explicit flag, and a URL with
// credentials is refused without echoing them.
func TestTailSecrets(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	for name, c := range map[string]struct {
		args []string
		env  string
		want string
	}{
		"password flag":        {[]string{"--broker", "ssl://127.0.0.1:1", "--username", "u", "--password", "s3cret"}, "", "--password is visible"},
		"password in URL":      {[]string{"--broker", "ssl://u:s3cret@127.0.0.1:1"}, "", "credentials in the broker URL"},
		"plain tcp, file":      {[]string{"--broker", "tcp://127.0.0.1:1", "--username", "u", "--password-file", pw}, "", "plain tcp://"},
		"plain tcp, env":       {[]string{"--broker", "ssl://127.0.0.1:1,tcp://127.0.0.1:2", "--username", "u"}, "s3cret", "plain tcp://"},
		"password, no user":    {[]string{"--broker", "ssl://127.0.0.1:1", "--password-file", pw}, "", "needs --username"},
		"password file is dir": {[]string{"--broker", "ssl://127.0.0.1:1", "--username", "u", "--password-file", filepath.Dir(pw)}, "", "directory"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("LANED_MQTT_PASSWORD", c.env)
			t.Setenv("CREDENTIALS_DIRECTORY", "")
			code, stdout, stderr := runWithin(t, append([]string{"tail"}, c.args...)...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q does not say %q", code, stderr, c.want)
			}
			if strings.Contains(stdout+stderr, "s3cret") {
				t.Errorf("the password is echoed: %q", stderr)
			}
		})
	}
}

func TestTailPasswordSources(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600)
	os.WriteFile(filepath.Join(dir, tailCredential), []byte("from-credential"), 0o600)
	t.Setenv("LANED_MQTT_PASSWORD", "")
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	for _, c := range []struct {
		file, env, cred, want string
	}{
		{filepath.Join(dir, "pw"), "from-env", dir, "from-file"},
		{"", "from-env", dir, "from-env"},
		{"", "", dir, "from-credential"},
		{"", "", "", ""},
	} {
		t.Setenv("LANED_MQTT_PASSWORD", c.env)
		t.Setenv("CREDENTIALS_DIRECTORY", c.cred)
		got, err := tailPassword(c.file)
		if err != nil || got != c.want {
			t.Errorf("%+v: %q %v", c, got, err)
		}
	}
	if got := redactURL("ssl://user:pw@broker.example:8883/x?y"); strings.Contains(got, "pw") || !strings.Contains(got, "broker.example:8883") {
		t.Errorf("redactURL: %q", got)
	}
}

// TestTailSanitises: escape sequences, other control characters, bidi
// overrides and invalid UTF-8 in a payload or topic never reach the
// operator's terminal raw, in either output mode.
func TestTailSanitises(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(golden(t, "event_fault"), &m); err != nil {
		t.Fatal(err)
	}
	m["message"] = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202eevil\r"
	m["details"] = map[string]any{"errno": "\u009b2J\u2066"}
	m["site"] = "north-crossing"
	b, _ := json.Marshal(m)
	ev := string(b)
	line, _, err := formatPayload([]byte(ev))
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, "pretty", line)
	if !strings.Contains(line, "owned") {
		t.Errorf("the text itself is lost: %q", line)
	}
	for _, mode := range []bool{false, true} {
		var out, errb syncBuf
		p := &tailPrinter{out: &out, errw: &errb, raw: mode, seen: map[string]struct{}{}}
		p.print("border/x\x1b[2J/L2/events", []byte(ev))
		p.print("border/x\x1b[2J/L2/events", []byte("\x1b[31mnot json\xff"))
		p.print("border/x/L2/events", []byte(`{"kind":"event","message":"`+"\u009b"+`"}`))
		checkClean(t, "output", out.String())
		checkClean(t, "errors", errb.String())
		if mode {
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if !json.Valid([]byte(l)) {
					t.Errorf("--json line is not JSON any more: %q", l)
				}
			}
		}
	}
}

func checkClean(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			t.Errorf("%s carries %U raw: %q", what, r, s)
			return
		}
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s is not UTF-8: %q", what, s)
	}
}

// TestInspectSanitises: text from a bundle (issuer, model id) reaches the
// terminal only escaped, even from a bundle whose signature is refused.
func TestInspectSanitises(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runOK(t, "gallery", "keygen", "-o", p("sign.key"))
	writeTemplates(t, p("t.jsonl"), 2, 1)
	runOK(t, "gallery", "build", "--from-templates", p("t.jsonl"), "--key", p("sign.key"), "-o", p("g.bundle"), "--issuer", "office\x1b]0;owned\x07\x1b[2J\u009b1m")
	for _, args := range [][]string{
		{"gallery", "inspect", p("g.bundle")},
		{"gallery", "inspect", "--trust", p("sign.key.pub"), p("g.bundle")},
	} {
		out := runOK(t, args...)
		checkClean(t, "inspect", out)
		if !strings.Contains(out, "owned") {
			t.Errorf("issuer lost: %q", out)
		}
	}
}
