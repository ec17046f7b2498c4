package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/outbox"
)

func init() {
	register(&command{
		Name:  "outbox status",
		Short: "show the lane's outbox: messages waiting per class, oldest, drops, quarantine",
		Usage: "[--socket S] [--db FILE] [--json]",
		Setup: func(fs *flag.FlagSet) runFunc {
			socket := fs.String("socket", config.DefaultSocket, socketUsage)
			db := fs.String("db", config.DefaultStateDir+"/outbox.db", "outbox file, opened when no daemon serves the socket")
			asJSON := fs.Bool("json", false, "print the statistics as JSON")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 0 {
					return usageErrorf("no arguments")
				}
				st, from, err := outboxStats(ctx, *socket, *db)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(e.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(st)
				}
				fmt.Fprintf(e.Stdout, "outbox (%s): %d waiting, %d bytes, oldest %s, last seq %d, %d quarantined\n",
					from, st.Count, st.Bytes, st.OldestAge.Round(time.Second), st.LastSeq, st.Quarantined)
				for _, k := range outbox.Kinds() {
					c := st.Classes[k]
					fmt.Fprintf(e.Stdout, "  %-8s %6d waiting  enqueued %d  dropped %d  expired %d  refused %d  quarantined %d  unstored %d\n",
						k, c.Count, c.Enqueued, c.Dropped, c.Expired, c.Refused, c.Quarantined, c.Unstored)
				}
				return nil
			}
		},
	})
}

// outboxStats asks the running daemon, else opens the file (never
// creating one).
func outboxStats(ctx context.Context, socket, db string) (outbox.Stats, string, error) {
	c, err := daemonClient(ctx, socket)
	if err != nil {
		return outbox.Stats{}, "", err
	}
	if c != nil {
		st, err := c.OutboxStatus(ctx)
		return st, "running daemon", err
	}
	fi, err := os.Stat(db)
	if err != nil {
		return outbox.Stats{}, "", fmt.Errorf("outbox: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return outbox.Stats{}, "", fmt.Errorf("outbox: %s is not a regular file (%s)", db, fi.Mode().Type())
	}
	ob, err := outbox.Open(db, outbox.Options{LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return outbox.Stats{}, "", err
	}
	defer ob.Close()
	return ob.Stats(), db, nil
}
