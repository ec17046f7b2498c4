package lanedtest

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestChildProcess is the child of TestChild.
func TestChildProcess(t *testing.T) {
	if !IsChild("TestChildProcess") {
		t.Skip("child of TestChild")
	}
	fmt.Println("READY", os.Getpid())
	if os.Getenv("LANED_CHILD_MODE") == "fail" {
		os.Exit(3)
	}
	time.Sleep(time.Hour)
}

func TestChild(t *testing.T) {
	c := StartChild(t, "TestChildProcess")
	l, err := c.WaitLine("READY", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l != fmt.Sprintf("READY %d", c.PID()) {
		t.Errorf("line %q from pid %d", l, c.PID())
	}
	if err := c.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	// A child that fails on its own is not a kill.
	f := StartChild(t, "TestChildProcess", "LANED_CHILD_MODE=fail")
	if err := f.Wait(); err == nil {
		t.Fatal("failing child: no error")
	}
	if err := f.Kill(); !errors.Is(err, ErrExitedByItself) {
		t.Errorf("kill of an exited child: %v", err)
	}
	g := StartChild(t, "TestChildProcess", "LANED_CHILD_MODE=fail")
	if _, err := g.WaitLine("NEVER", 30*time.Second); err == nil {
		t.Error("WaitLine on an exiting child succeeded")
	}
}
