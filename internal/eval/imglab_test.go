package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/laned/laned/internal/vision"
)

const sampleXML = `<?xml version='1.0' encoding='ISO-8859-1'?>
<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>
<dataset>
<name>Testing faces</name>
<comment>These are images from the PASCAL VOC 2011 dataset.</comment>
<images>
  <image file='2008_002470.jpg' width='500' height='332'>
    <box top='181' left='274' width='52' height='53'/>
    <box top='156' left='55' width='44' height='44' ignore='1'/>
  </image>
  <image file='sub/caf\xe9.jpg'>
  </image>
</images>
</dataset>
`

func TestParseImglab(t *testing.T) {
	ds, err := ParseImglab(strings.NewReader(strings.ReplaceAll(sampleXML, `\xe9`, "\xe9")))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Name != "Testing faces" || len(ds.Images) != 2 {
		t.Fatalf("got %+v", ds)
	}
	im := ds.Images[0]
	if im.Path != "2008_002470.jpg" || im.Width != 500 || im.Height != 332 || len(im.Boxes) != 2 {
		t.Fatalf("image 0: %+v", im)
	}
	if want := (vision.Box{X0: 274, Y0: 181, X1: 326, Y1: 234}); im.Boxes[0].Box != want || im.Boxes[0].Ignore {
		t.Errorf("box 0 = %+v, want %v", im.Boxes[0], want)
	}
	if !im.Boxes[1].Ignore {
		t.Errorf("box 1 should be ignore")
	}
	if got := ds.Images[1].Path; got != "sub/café.jpg" {
		t.Errorf("latin-1 path decoded as %q", got)
	}
}

func TestParseImglabRejects(t *testing.T) {
	tests := []struct{ name, xml, want string }{
		{"empty", "", "no <dataset>"},
		{"not xml", "hello", "no <dataset>"},
		{"unclosed", "<dataset><images><image file='a.jpg'>", "parse imglab xml"},
		{"no file", "<dataset><images><image><box top='1' left='1' width='2' height='2'/></image></images></dataset>", "missing file"},
		{"missing top", "<dataset><images><image file='a.jpg'><box left='1' width='2' height='2'/></image></images></dataset>", `image "a.jpg" box 1: missing top`},
		{"zero width", "<dataset><images><image file='a.jpg'><box top='1' left='1' width='0' height='2'/></image></images></dataset>", "not positive"},
		{"negative height", "<dataset><images><image file='a.jpg'><box top='1' left='1' width='3' height='-2'/></image></images></dataset>", "not positive"},
		{"not a number", "<dataset><images><image file='a.jpg'><box top='x' left='1' width='3' height='2'/></image></images></dataset>", "not an integer"},
		{"huge", "<dataset><images><image file='a.jpg'><box top='1' left='1' width='99999999999' height='2'/></image></images></dataset>", "out of range"},
		{"bad width", "<dataset><images><image file='a.jpg' width='-5'/></images></dataset>", "negative"},
		{"bad charset", "<?xml version='1.0' encoding='EBCDIC'?><dataset/>", "unsupported xml encoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseImglab(strings.NewReader(tc.xml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadImglabResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "boxes.xml")
	x := "<dataset><images><image file='a.jpg'/><image file='/abs/b.jpg'/></images></dataset>"
	if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := LoadImglab(p)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Images[0].Path != filepath.Join(dir, "a.jpg") || ds.Images[1].Path != "/abs/b.jpg" {
		t.Errorf("paths %q %q", ds.Images[0].Path, ds.Images[1].Path)
	}
	_, err = LoadImglab(filepath.Join(dir, "missing.xml"))
	if err == nil || !strings.Contains(err.Error(), "missing.xml") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.xml")
	os.WriteFile(bad, []byte("<dataset><images><image file='a.jpg'><box/></image></images></dataset>"), 0o644)
	if _, err = LoadImglab(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v", err)
	}
}

// TestParseSharedPascal parses the real evaluation files when ../shared is present.
func TestParseSharedPascal(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "pascal-faces")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("../shared absent: %v", err)
	}
	for f, want := range map[string][2]int{"training.xml": {4, 18}, "testing.xml": {5, 25}} {
		ds, err := LoadImglab(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, im := range ds.Images {
			n += len(im.Boxes)
			if _, err := os.Stat(im.Path); err != nil {
				t.Errorf("%s: image path not resolved: %v", f, err)
			}
		}
		if len(ds.Images) != want[0] || n != want[1] {
			t.Errorf("%s: %d images %d boxes, want %v", f, len(ds.Images), n, want)
		}
	}
}

func FuzzParseImglab(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(sampleXML, `\xe9`, "\xe9")))
	f.Add([]byte("<dataset><images><image file='a.jpg'><box top='1' left='2' width='3' height='4' ignore='1'/></image></images></dataset>"))
	f.Add([]byte("<dataset/>"))
	f.Add([]byte("<?xml version='1.0' encoding='utf-8'?><dataset><images><image file='x'/></images></dataset>"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ParseImglab(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, im := range ds.Images {
			if im.Path == "" || im.Width < 0 || im.Height < 0 {
				t.Fatalf("accepted image %+v", im)
			}
			for _, b := range im.Boxes {
				if b.Box.W() <= 0 || b.Box.H() <= 0 {
					t.Fatalf("accepted box %+v", b)
				}
			}
		}
	})
}
