package summary

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/summary")

const goldenDir = "../../testdata/summary"

// TestEveryPayloadValidatesAgainstSchema encodes every kind laned emits
// (realistic examples and edge cases) and validates it with the JSON
// Schema validator, independently of the Go decoder.
func TestEveryPayloadValidatesAgainstSchema(t *testing.T) {
	seen := map[Kind]bool{}
	for name, v := range examples() {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if err := ValidateJSON(b); err != nil {
				t.Fatalf("schema: %v\n%s", err, b)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(back, v) {
				t.Errorf("round trip differs:\n got %#v\nwant %#v", back, v)
			}
			k, _ := PeekKind(b)
			seen[k] = true
		})
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("no example of kind %s", k)
		}
	}
}

func TestGolden(t *testing.T) {
	for name, v := range examples() {
		t.Run(name, func(t *testing.T) {
			b, err := Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, b, "", "  ")
			pretty.WriteByte('\n')
			path := filepath.Join(goldenDir, name+".json")
			if *update {
				os.MkdirAll(goldenDir, 0o755)
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s changed; if on purpose, bump schema_version when it is not compatible and run -update\n got %s", path, pretty.Bytes())
			}
			// The golden file itself is what consumers see: it must pass both checks.
			if err := ValidateJSON(want); err != nil {
				t.Error(err)
			}
			if _, err := Unmarshal(want); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNoTemplateSmuggling: no extra property anywhere, on either side.
func TestNoTemplateSmuggling(t *testing.T) {
	b, err := Marshal(examples()["transaction_mixed"])
	if err != nil {
		t.Fatal(err)
	}
	tmpl := `"AAAAPwAAgD8AAAA/` + strings.Repeat("A", 600) + `"`
	cases := map[string]string{
		"top-level template":  strings.Replace(string(b), `"site":`, `"template":`+tmpl+`,"site":`, 1),
		"occupant embedding":  strings.Replace(string(b), `"decision":"match"`, `"decision":"match","embedding":[0.1,0.2]`, 1),
		"occupant image":      strings.Replace(string(b), `"decision":"match"`, `"decision":"match","image":`+tmpl, 1),
		"latency extra":       strings.Replace(string(b), `"total":1830`, `"total":1830,"crop":`+tmpl, 1),
		"reason on match":     strings.Replace(string(b), `"decision":"match"`, `"decision":"match","reason":"blurred"`, 1),
		"score on unusable":   strings.Replace(string(b), `"reason":"occluded"`, `"reason":"occluded","score":0.5`, 1),
		"unknown decision":    strings.Replace(string(b), `"decision":"match"`, `"decision":"maybe"`, 1),
		"wrong version":       strings.Replace(string(b), `"schema_version":1`, `"schema_version":3`, 1),
		"missing message_id":  strings.Replace(string(b), `"message_id":"`+testID+`",`, ``, 1),
		"duplicated trailing": string(b) + `{}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == string(b) {
				t.Fatal("test case did not change the payload")
			}
			if err := ValidateJSON([]byte(in)); err == nil && name != "duplicated trailing" {
				t.Errorf("schema accepted %s", name)
			}
			if _, err := Unmarshal([]byte(in)); err == nil {
				t.Errorf("decoder accepted %s", name)
			} else {
				t.Logf("%s: %v", name, err)
			}
		})
	}
	// Every object schema forbids additional properties.
	for _, k := range append(Kinds(), "common") {
		raw, _ := Schemas.ReadFile("schema/" + string(k) + ".schema.json")
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		walkObjects(t, string(k), doc)
	}
}

func walkObjects(t *testing.T, path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		if x["type"] == "object" {
			ap, ok := x["additionalProperties"]
			if !ok || (ap != false && path != "event/properties/details") {
				t.Errorf("%s: object schema without additionalProperties:false", path)
			}
		}
		for k, c := range x {
			walkObjects(t, path+"/"+k, c)
		}
	case []any:
		for _, c := range x {
			walkObjects(t, path, c)
		}
	}
}

func TestClearErrors(t *testing.T) {
	ex := examples()
	tr := *ex["transaction_mixed"].(*Transaction)
	tr.Occupants = append([]Occupant(nil), tr.Occupants...)
	tr.Occupants[0].SubjectID = ""
	tr.Lane = "lane with space"
	_, err := Marshal(&tr)
	for _, want := range []string{"invalid transaction", "lane:", "occupants[0].decision: match needs subject_id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	big := bytes.Repeat([]byte(" "), MaxSize+1)
	if _, err := Unmarshal(big); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("oversize: %v", err)
	}
	if _, err := Unmarshal([]byte(`{"kind":"selfie"}`)); err == nil || !strings.Contains(err.Error(), `unknown kind "selfie"`) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestStamp(t *testing.T) {
	tr := *examples()["transaction_mixed"].(*Transaction)
	tr.MessageID, tr.Sequence = "", 0
	raw, err := Marshal(&tr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(raw); err == nil {
		t.Error("an unstamped payload passed as published")
	}
	if _, err := UnmarshalUnstamped(raw); err != nil {
		t.Errorf("unstamped: %v", err)
	}
	st, err := Stamp(raw, testID, 99)
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateJSON(st); err != nil {
		t.Error(err)
	}
	back, err := Unmarshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if g := back.(*Transaction); g.MessageID != testID || g.Sequence != 99 {
		t.Errorf("stamped header %+v", g.Header)
	}
	st2, _ := Stamp(raw, testID, 99)
	if !bytes.Equal(st, st2) {
		t.Error("stamp is not deterministic")
	}
	for name, c := range map[string]struct {
		p, id string
		seq   uint64
	}{
		"twice":      {string(st), testID, 1},
		"not object": {`[1]`, testID, 1},
		"bad id":     {string(raw), "not-a-uuid", 1},
		"seq 0":      {string(raw), testID, 0},
	} {
		if _, err := Stamp([]byte(c.p), c.id, c.seq); err == nil {
			t.Errorf("%s: Stamp accepted", name)
		}
	}
	if b, err := Stamp([]byte(`{}`), testID, 1); err != nil || !json.Valid(b) {
		t.Errorf("empty object: %s %v", b, err)
	}
}
