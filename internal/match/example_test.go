package match_test

import (
	"fmt"

	"github.com/laned/laned/internal/match"
)

func Example() {
	b := match.NewBuilder(3, 3)
	for _, t := range []struct {
		subject string
		v       []float32
	}{
		{"alice", []float32{1, 0, 0}},
		{"alice", []float32{0.9, 0.1, 0}},
		{"bob", []float32{0, 2, 0}},
	} {
		if err := b.Add(t.subject, t.v); err != nil {
			fmt.Println(err)
			return
		}
	}
	ix, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	rs, err := ix.Search([]float32{0.5, 0.5, 0}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rs {
		fmt.Printf("%s score %.3f distance %.3f\n", r.Subject, r.Score, r.Distance)
	}
	// Output:
	// alice score 0.781 distance 0.662
	// bob score 0.707 distance 0.765
}

// Several probes (say, all faces of one vehicle) in one pass over the
// gallery.
func ExampleIndex_SearchBatch() {
	b := match.NewBuilder(2, 3)
	for _, t := range []struct {
		s string
		v []float32
	}{{"ann", []float32{1, 0}}, {"ben", []float32{0, 1}}, {"cy", []float32{-1, 0}}} {
		if err := b.Add(t.s, t.v); err != nil {
			panic(err)
		}
	}
	ix, _ := b.Build()
	rss, err := ix.SearchBatch([][]float32{{0.9, 0.1}, {-0.2, -1}}, 2)
	if err != nil {
		panic(err)
	}
	for i, rs := range rss {
		fmt.Printf("probe %d:", i)
		for _, r := range rs {
			fmt.Printf(" %s %.2f (d %.2f)", r.Subject, r.Score, r.Distance)
		}
		fmt.Println()
	}
	// Output:
	// probe 0: ann 0.99 (d 0.11) ben 0.11 (d 1.33)
	// probe 1: cy 0.20 (d 1.27) ann -0.20 (d 1.55)
}
