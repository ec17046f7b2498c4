package main

import (
	"context"
	"errors"
	"flag"
	"strings"

	"github.com/laned/laned/internal/console"
)

func init() {
	register(&command{
		Name:  "ctl",
		Short: "run one technician-console command on the booth (laned ctl status, laned ctl snapshot front aim.jpg)",
		Usage: "[--socket PATH] [-f] COMMAND [ARGS...]",
		Setup: func(fs *flag.FlagSet) runFunc {
			sock := fs.String("socket", defaultSocket(), "console socket")
			follow := fs.Bool("f", false, "follow (log tail -f, events -f); Ctrl-C stops")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 0 {
					return usageErrorf("want a console command (laned ctl help)")
				}
				if *follow {
					args = append(args, "-f")
				}
				return runCtl(ctx, e, *sock, args)
			}
		},
	})
}

func runCtl(ctx context.Context, e *env, socket string, args []string) error {
	c, err := console.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	d, err := c.Exec(ctx, joinLine(args), e.Stdout, saveFile(e.Stdout))
	if err != nil {
		return err
	}
	if !d.OK {
		// The console already printed the reason.
		if d.Denied {
			return errors.New("permission denied")
		}
		return errors.New("command failed")
	}
	return nil
}

// joinLine quotes shell arguments back into one console line.
func joinLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t'\"\\") {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
