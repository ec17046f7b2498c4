package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	register(&command{
		Name:  "version",
		Short: "print the laned version",
		Setup: func(*flag.FlagSet) runFunc { return runVersion },
	})
}

func runVersion(_ context.Context, e *env, _ []string) error {
	_, err := fmt.Fprintln(e.Stdout, "laned", Version())
	return err
}

// Version is the build's version string: the -ldflags value, else the VCS
// revision recorded by the Go toolchain.
func Version() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}
