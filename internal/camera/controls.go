package camera

import (
	"fmt"
	"sort"

	"github.com/blackjack/webcam"
)

// control IDs from linux/v4l2-controls.h.
const (
	cidBase   = 0x00980900
	cidCamera = 0x009a0900
)

// controlTable lists the controls laned sets, by the names v4l2-ctl
// prints, in the order they must be applied: an automatic mode before
// the manual value it unlocks.
var controlTable = []struct {
	Name string
	ID   webcam.ControlID
}{
	{"power_line_frequency", cidBase + 24},
	{"auto_exposure", cidCamera + 1},
	{"exposure_dynamic_framerate", cidCamera + 3},
	{"exposure_time_absolute", cidCamera + 2},
	{"gain", cidBase + 19},
	{"brightness", cidBase + 0},
	{"contrast", cidBase + 1},
	{"saturation", cidBase + 2},
	{"hue", cidBase + 3},
	{"gamma", cidBase + 16},
	{"sharpness", cidBase + 27},
	{"backlight_compensation", cidBase + 28},
	{"white_balance_automatic", cidBase + 12},
	{"white_balance_temperature", cidBase + 26},
	{"focus_automatic_continuous", cidCamera + 12},
	{"focus_absolute", cidCamera + 10},
	{"zoom_absolute", cidCamera + 13},
}

var controlByName = func() map[string]webcam.ControlID {
	m := map[string]webcam.ControlID{}
	for _, c := range controlTable {
		m[c.Name] = c.ID
	}
	return m
}()

// ControlNames lists the control names config accepts.
func ControlNames() []string {
	out := make([]string, 0, len(controlTable))
	for _, c := range controlTable {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// ControlID returns the V4L2 id of a named control.
func ControlID(name string) (webcam.ControlID, bool) {
	id, ok := controlByName[name]
	return id, ok
}

// ControlStatus says what the driver did with a requested control.
type ControlStatus string

const (
	ControlApplied    ControlStatus = "applied"
	ControlClamped    ControlStatus = "clamped"     // read back differs from the request
	ControlRefused    ControlStatus = "refused"     // VIDIOC_S_CTRL failed
	ControlNotOffered ControlStatus = "not-offered" // the device has no such control
)

// ControlResult reports one requested control after read-back.
type ControlResult struct {
	Name      string
	Requested int32
	Got       int32 // read back; meaningless when Refused/NotOffered
	Min, Max  int32
	Status    ControlStatus
	Err       string `json:",omitempty"`
}

func (r ControlResult) String() string {
	switch r.Status {
	case ControlClamped:
		return fmt.Sprintf("%s=%d clamped to %d (range %d..%d)", r.Name, r.Requested, r.Got, r.Min, r.Max)
	case ControlRefused:
		return fmt.Sprintf("%s=%d refused: %s", r.Name, r.Requested, r.Err)
	case ControlNotOffered:
		return fmt.Sprintf("%s not offered by the device", r.Name)
	}
	return fmt.Sprintf("%s=%d", r.Name, r.Got)
}

// ApplyControls sets want on d in dependency order and reads every value
// back; the results say which the driver refused or clamped.
func ApplyControls(d Device, want map[string]int32) []ControlResult {
	offered := d.GetControls()
	var out []ControlResult
	for _, c := range controlTable {
		v, ok := want[c.Name]
		if !ok {
			continue
		}
		r := ControlResult{Name: c.Name, Requested: v}
		info, has := offered[c.ID]
		if !has {
			r.Status = ControlNotOffered
			out = append(out, r)
			continue
		}
		r.Min, r.Max = info.Min, info.Max
		if err := d.SetControl(c.ID, v); err != nil {
			r.Status, r.Err = ControlRefused, err.Error()
			out = append(out, r)
			continue
		}
		got, err := d.GetControl(c.ID)
		switch {
		case err != nil:
			r.Status, r.Err = ControlRefused, "read back: "+err.Error()
		case got != v:
			r.Got, r.Status = got, ControlClamped
		default:
			r.Got, r.Status = got, ControlApplied
		}
		out = append(out, r)
	}
	return out
}
