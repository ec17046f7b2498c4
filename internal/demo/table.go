package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/laned/laned/internal/lane/passgen"
	"github.com/laned/laned/internal/summary"
)

// Table prints one line per vehicle: who rode in it (ground truth), what
// the summary decided for each occupant, and the latencies: end of
// capture (the departure plus the post margin) → decision, and end of
// capture → arrival at the central office's subscriber. The replay started when laned run did, so
// the passes' time line is anchored on the first vehicle's arrival.
func Table(w io.Writer, truth []passgen.VehicleTruth, got []Received) {
	sort.Slice(got, func(i, j int) bool { return got[i].T.DetectedAt.Before(got[j].T.DetectedAt) })
	var start time.Time
	if len(got) > 0 && len(truth) > 0 {
		start = got[0].T.DetectedAt.Add(-truth[0].Arrive)
	}
	used := make([]bool, len(got))
	fmt.Fprintf(w, "\n%-3s %-7s %-28s %-46s %9s %9s\n", "#", "variant", "in the vehicle", "decisions", "decide ms", "at CO ms")
	var lat []float64
	for _, v := range truth {
		var who []string
		for _, o := range v.Occupants {
			s := o.ID
			if !o.Enrolled {
				s += "(stranger)"
			}
			who = append(who, s)
		}
		k := -1
		for i, r := range got {
			a := start.Add(v.Arrive)
			if !used[i] && !r.T.DetectedAt.Before(a.Add(-time.Second)) && !r.T.DetectedAt.After(start.Add(v.Depart).Add(time.Second)) {
				k = i
				break
			}
		}
		dec, decide, toCO := "NO SUMMARY", "", ""
		if k >= 0 {
			used[k] = true
			r := got[k]
			var ds []string
			for _, o := range r.T.Occupants {
				switch o.Decision {
				case summary.Match:
					ds = append(ds, "match "+o.SubjectID)
				case summary.NoUsableImage:
					ds = append(ds, "no image: "+string(o.Reason))
				case summary.Candidate:
					ds = append(ds, fmt.Sprintf("candidate %.2f", deref(o.Score)))
				default:
					ds = append(ds, string(o.Decision))
				}
			}
			if len(ds) == 0 {
				ds = []string{"(no face seen)"}
			}
			dec = strings.Join(ds, ", ")
			d := r.T.Latency.Total - r.T.Latency.Capture
			decide = fmt.Sprintf("%.0f", d)
			captureEnd := r.T.DetectedAt.Add(time.Duration(r.T.Latency.Capture * float64(time.Millisecond)))
			ms := float64(r.At.Sub(captureEnd)) / 1e6
			lat = append(lat, ms)
			toCO = fmt.Sprintf("%.0f", ms)
		}
		fmt.Fprintf(w, "%-3d %-7s %-28s %-46s %9s %9s\n", v.Index+1, v.Variant, clip(strings.Join(who, ", "), 28), clip(dec, 46), decide, toCO)
	}
	extra := 0
	for _, u := range used {
		if !u {
			extra++
		}
	}
	sort.Float64s(lat)
	if len(lat) > 0 {
		fmt.Fprintf(w, "%d vehicles, %d summaries (%d not matching a vehicle); end of capture → central office: median %.0f ms, max %.0f ms\n",
			len(truth), len(got), extra, lat[len(lat)/2], lat[len(lat)-1])
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
