package store

import (
	"fmt"
	"testing"
	"time"
)

func TestLedger(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		seqs     []uint64
		verdicts string // I in order, L late, R received
		gaps     string
		first    uint64
	}{
		{[]uint64{1, 2, 3}, "III", "", 1},
		{[]uint64{5, 6}, "II", "1-4", 1},
		{[]uint64{2, 1}, "IL", "", 1},
		{[]uint64{1, 2, 4}, "III", "3-3", 1},
		{[]uint64{1, 5, 3}, "IIL", "2-2 4-4", 1},
		{[]uint64{1, 5, 2, 3, 4}, "IILLL", "", 1},
		{[]uint64{1, 5, 4, 3, 2}, "IILLL", "", 1},
		{[]uint64{1, 2, 2, 1}, "IIRR", "", 1},
		{[]uint64{10, 7}, "IL", "1-6 8-9", 1},
		{[]uint64{10, 9, 9}, "ILR", "1-8", 1},
		{[]uint64{1, 10, 20, 15}, "IIIL", "2-9 11-14 16-19", 1},
	} {
		t.Run(fmt.Sprint(tc.seqs), func(t *testing.T) {
			l := Ledger{Site: "s", Lane: "l"}
			v := ""
			for _, s := range tc.seqs {
				v += string("ILR"[l.Apply(s, t0)])
			}
			g := ""
			for i, x := range l.Gaps {
				if i > 0 {
					g += " "
				}
				g += fmt.Sprintf("%d-%d", x.From, x.To)
			}
			if v != tc.verdicts || g != tc.gaps || l.First != tc.first {
				t.Errorf("verdicts %s gaps %q first %d; want %s %q %d", v, g, l.First, tc.verdicts, tc.gaps, tc.first)
			}
		})
	}
}
