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
	var live match.Live
	live.Swap(ix)

	rs, err := live.Load().Search([]float32{0.5, 0.5, 0}, 2)
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
