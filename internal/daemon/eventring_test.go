package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/laned/laned/internal/console"
)

func TestEventRing(t *testing.T) {
	r := newEventRing(3)
	ev := func(i int) console.Event { return console.Event{Text: fmt.Sprint(i)} }
	for i := 1; i <= 5; i++ {
		r.add(ev(i))
	}
	var got []string
	collect := func(e console.Event) error { got = append(got, e.Text); return nil }
	if err := r.tail(context.Background(), 2, false, collect); err != nil || fmt.Sprint(got) != "[4 5]" {
		t.Fatalf("last 2 of a full ring: %v %v", got, err)
	}
	// Follow a full ring: every new event arrives, none twice.
	got = nil
	stop := errors.New("enough")
	done := make(chan error, 1)
	go func() {
		done <- r.tail(context.Background(), 1, true, func(e console.Event) error {
			got = append(got, e.Text)
			if len(got) == 4 {
				return stop
			}
			if len(got) == 1 {
				for i := 6; i <= 8; i++ {
					r.add(ev(i))
				}
			}
			return nil
		})
	}()
	if err := <-done; !errors.Is(err, stop) || fmt.Sprint(got) != "[5 6 7 8]" {
		t.Fatalf("follow: %v %v", got, err)
	}
}
