package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/laned/laned/internal/config"
)

func init() {
	register(&command{
		Name:  "config check",
		Short: "parse and validate a configuration file (unknown keys, types, ranges; no file checks)",
		Usage: "FILE",
		Setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usageErrorf("need one configuration file")
				}
				c, err := config.Load(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.Stdout, "%s: ok (site %s, lane %s)\n", args[0], c.Site, c.Lane)
				return nil
			}
		},
	})
	register(&command{
		Name:  "config example",
		Short: "print a fully commented configuration with every default",
		Usage: "",
		Setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 0 {
					return usageErrorf("no arguments")
				}
				_, err := fmt.Fprint(e.Stdout, config.Example())
				return err
			}
		},
	})
}
