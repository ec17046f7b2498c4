package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestFakeTimerFiresOnlyAtDeadline(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(10 * time.Second)
	f.Advance(9 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired before its deadline")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-tm.C():
		if !got.Equal(t0.Add(10 * time.Second)) {
			t.Fatalf("fired at %v, want %v", got, t0.Add(10*time.Second))
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	if f.Pending() != 0 {
		t.Fatalf("pending = %d after a one-shot fired", f.Pending())
	}
}

func TestFakeStopAndReset(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Fatal("Stop of an active timer reported false")
	}
	f.Advance(time.Hour)
	select {
	case <-tm.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if tm.Reset(time.Minute) {
		t.Fatal("Reset of a stopped timer reported it active")
	}
	f.Advance(time.Minute)
	if _, ok := <-tm.C(); !ok {
		t.Fatal("reset timer did not fire")
	}
}

func TestFakeTickerDropsUnreadTicks(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(time.Second)
	defer tk.Stop()
	f.Advance(5 * time.Second)
	got := <-tk.C()
	if !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("first tick at %v, want the first deadline", got)
	}
	select {
	case <-tk.C():
		t.Fatal("ticker buffered more than one tick")
	default:
	}
	if !f.Now().Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("now = %v", f.Now())
	}
}

func TestBlockUntil(t *testing.T) {
	f := NewFake(t0)
	done := make(chan struct{})
	go func() {
		<-f.After(time.Minute)
		close(done)
	}()
	f.BlockUntil(1)
	f.Advance(time.Minute)
	<-done
}
