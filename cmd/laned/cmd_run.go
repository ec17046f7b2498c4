package main

import (
	"context"
	"flag"

	"github.com/laned/laned/internal/config"
	"github.com/laned/laned/internal/daemon"
	"github.com/laned/laned/internal/daemon/booth"
	"github.com/laned/laned/internal/vision/pipeline"
)

const defaultConfig = "/etc/laned/laned.yaml"

func init() {
	register(&command{
		Name:  "run",
		Short: "run the lane daemon (until SIGINT or SIGTERM)",
		Usage: "[--config FILE]",
		Setup: func(fs *flag.FlagSet) runFunc {
			path := fs.String("config", defaultConfig, "configuration file (laned config example prints one)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 0 {
					return usageErrorf("no arguments")
				}
				cfg, err := config.Load(*path)
				if err != nil {
					return err
				}
				deps := daemon.Deps{ModelID: pipeline.ModelID, Dim: pipeline.Dim, Version: Version(), Log: e.Log}
				if cfg.HasLane() {
					drv, release, err := booth.Open(cfg, nil, e.Log)
					if err != nil {
						return err
					}
					defer release()
					deps.Extra = append(deps.Extra, daemon.WithLane(cfg, drv, nil, e.Log))
				}
				d, err := daemon.New(cfg, deps)
				if err != nil {
					return err
				}
				defer d.Close()
				return d.Run(ctx)
			}
		},
	})
}
