package store_test

import (
	"fmt"
	"time"

	"github.com/laned/laned/internal/collect/store"
)

func ExampleLedger() {
	l := store.Ledger{Site: "north", Lane: "L2"}
	now := time.Now()
	for _, seq := range []uint64{1, 2, 5, 3} {
		l.Apply(seq, now)
	}
	for _, g := range l.Gaps {
		fmt.Printf("missing %d–%d\n", g.From, g.To)
	}
	// Output:
	// missing 4–4
}
