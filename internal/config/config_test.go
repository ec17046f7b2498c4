package config

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/example.yaml")

const minimal = "site: north\nlane: L2\nuplink: {brokers: [ssl://broker.example:8883]}\n"

func TestParseMinimal(t *testing.T) {
	c, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Uplink.Site != "north" || c.Uplink.Lane != "L2" || c.Uplink.ClientID != "laned-north-L2" {
		t.Errorf("identity not handed to the uplink: %+v", c.Uplink)
	}
	if c.Outbox.Path != "/var/lib/laned/outbox.db" || c.Gallery.DB != "/var/lib/laned/gallery.db" ||
		c.Gallery.Key.Credential != "gallery-key" || c.LocalAPI.Socket != DefaultSocket || c.Vision.Quality != DefaultQuality {
		t.Errorf("defaults: %+v", c)
	}
}

// TestDefaultsPerField: setting one field of a section leaves every other
// field at its default (the quality thresholds in particular).
func TestDefaultsPerField(t *testing.T) {
	base, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	q := reflect.TypeOf(Quality{})
	for i := range q.NumField() {
		key, _, _ := strings.Cut(q.Field(i).Tag.Get("yaml"), ",")
		// a value in range for each threshold, unlike its default
		v := map[string]string{"max_clipped": "0.05", "max_brightness": "200"}[key]
		if v == "" {
			v = "3"
		}
		c, err := Parse([]byte(minimal + "vision:\n  quality:\n    " + key + ": " + v + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		got, want := reflect.ValueOf(c.Vision.Quality), reflect.ValueOf(base.Vision.Quality)
		for j := range q.NumField() {
			if j != i && got.Field(j).Interface() != want.Field(j).Interface() {
				t.Errorf("setting %s changed %s to %v", key, q.Field(j).Name, got.Field(j))
			}
		}
		if got.Field(i).Interface() == want.Field(i).Interface() {
			t.Errorf("setting %s had no effect", key)
		}
	}
	c, err := Parse([]byte(minimal + "outbox: {max_bytes: 10485760}\ngallery: {sync: {retry: 1m}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Outbox.MaxPayload != 256<<10 || c.Gallery.Sync.WindowLength != 3*time.Hour || c.Gallery.Sync.Retry != time.Minute {
		t.Errorf("one field set: %+v %+v", c.Outbox, c.Gallery.Sync)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top-level", minimal + "lanes: 2\n", `lanes: unknown key (line 4); did you mean "lane"?`},
		{"unknown nested", minimal + "gallery:\n  sync:\n    urll: https://x\n", `gallery.sync.urll: unknown key (line 6); did you mean "url"?`},
		{"unknown in uplink tls", "site: a\nlane: b\nuplink:\n  brokers: [ssl://a:1]\n  tls: {cafile: /x}\n", "uplink.tls.cafile: unknown key (line 5)"},
		{"site under uplink", "site: a\nlane: b\nuplink: {brokers: [tcp://a:1], site: x}\n", "uplink.site: unknown key"},
		{"bad duration", minimal + "health:\n  interval: soon\n", "health.interval (line 5): cannot unmarshal !!str `soon` into time.Duration"},
		{"wrong shape", minimal + "vision: fast\n", "vision: want a mapping of keys"},
		{"twice", minimal + "lane: L3\n", "lane: key given twice"},
		{"alias", "site: &s a\nlane: *s\nuplink: {brokers: [tcp://a:1]}\n", "lane: YAML aliases are not allowed"},
		{"no site", "lane: b\nuplink: {brokers: [tcp://a:1]}\n", "site: \"\" must match"},
		{"no broker", "site: a\nlane: b\n", "uplink.brokers: at least one broker"},
		{"bad range", minimal + "vision: {quality: {max_clipped: 2}}\n", "vision.quality.max_clipped: 2, want 0..1"},
		{"bad engine", minimal + "vision: {engine: cuda}\n", `vision.engine: "cuda"`},
		{"http sync", minimal + "gallery: {sync: {url: http://office/g}}\n", "gallery.sync.url: \"http://office/g\": want https://"},
		{"key both ways", minimal + "gallery: {key: {file: /k, credential: c}}\n", "gallery.key: set file or credential, not both"},
		{"relative path", minimal + "outbox: {path: outbox.db}\n", `outbox.path: "outbox.db" is not an absolute path`},
		{"bound policy", minimal + "outbox: {at_bound: drop}\n", `outbox.at_bound: "drop"`},
		{"time zone", minimal + "gallery: {sync: {time_zone: Mars/Olympus}}\n", "gallery.sync.time_zone:"},
		{"not yaml", "site: [\n", "config: yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestValidateIsPure: Validate opens no file; CheckFiles does.
func TestValidateIsPure(t *testing.T) {
	c, err := Parse([]byte(minimal + "gallery: {key: {file: /nonexistent/key}, trust: [/nonexistent/pub]}\n"))
	if err != nil {
		t.Fatalf("Validate looked at the file system: %v", err)
	}
	err = c.CheckFiles()
	for _, want := range []string{"gallery.key: stat /nonexistent/key", "gallery.trust[0]: stat /nonexistent/pub"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckFiles: %v, want %q", err, want)
		}
	}
}

func TestSecretPath(t *testing.T) {
	t.Setenv(CredentialEnv, "/run/credentials/laned.service")
	if p, err := (Secret{Credential: "gallery-key"}).Path(); err != nil || p != "/run/credentials/laned.service/gallery-key" {
		t.Errorf("%q %v", p, err)
	}
	t.Setenv(CredentialEnv, "")
	if _, err := (Secret{Credential: "gallery-key"}).Path(); err == nil {
		t.Error("credential without $CREDENTIALS_DIRECTORY")
	}
	if p, _ := (Secret{File: "/etc/laned/k"}).Path(); p != "/etc/laned/k" {
		t.Error(p)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "laned.yaml")
	os.WriteFile(p, []byte(minimal), 0o600)
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	os.WriteFile(p, []byte(minimal+"oops: 1\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p+": oops: unknown key") {
		t.Errorf("error does not name the file and key: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("missing file")
	}
}

// TestExample: the example parses strictly, validates, and is exactly the
// defaults; it matches the golden file (go test -update rewrites it).
func TestExample(t *testing.T) {
	ex := Example()
	c, err := Parse([]byte(ex))
	if err != nil {
		t.Fatalf("example does not parse: %v\n%s", err, ex)
	}
	if !reflect.DeepEqual(c, ExampleConfig()) {
		t.Errorf("example parses to\n%+v\nwant\n%+v", c, ExampleConfig())
	}
	golden := filepath.Join("testdata", "example.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(ex), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != ex {
		t.Errorf("example differs from %s (run go test ./internal/config -update after checking the diff)", golden)
	}
}

// TestExampleFullyCommented: every key of the example has a comment.
func TestExampleFullyCommented(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(Example()), &doc); err != nil {
		t.Fatal(err)
	}
	var check func(n *yaml.Node, path string)
	keys := 0
	check = func(n *yaml.Node, path string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := join(path, k.Value)
			keys++
			if strings.TrimSpace(k.HeadComment) == "" {
				t.Errorf("key %s has no comment (add it to comments in example.go)", p)
			}
			check(n.Content[i+1], p)
		}
	}
	check(doc.Content[0], "")
	for p := range comments {
		if _, err := Decode([]byte(nest(p))); err != nil {
			t.Errorf("comment for %s, which is not a key: %v", p, err)
		}
	}
	if keys < 70 {
		t.Errorf("only %d keys", keys)
	}
}

// nest turns "a.b.c" into YAML setting that key (to an empty mapping).
func nest(p string) string {
	parts := strings.Split(p, ".")
	var b strings.Builder
	for i, k := range parts {
		b.WriteString(strings.Repeat("  ", i) + k + ":\n")
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(Example()))
	f.Add([]byte("site: a\nlane: b\nuplink: {brokers: [tcp://a:1]}\nvision: {quality: {max_yaw: 30}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		if c.WithDefaults().Validate() != nil || !reflect.DeepEqual(c.WithDefaults(), c) {
			t.Fatal("defaults not idempotent")
		}
	})
}
