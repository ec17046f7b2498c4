package collect

import (
	"context"
	"fmt"
	"time"

	"github.com/laned/laned/internal/collect/store"
)

// retentionLoop applies the retention policy at start and every
// RetentionEvery, on the injected clock; each deletion is logged (and
// recorded in the store's retention_log).
func (c *Collector) retentionLoop(ctx context.Context) {
	t := c.clk.NewTicker(c.cfg.RetentionEvery)
	defer t.Stop()
	for {
		c.RetainNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// RetainNow applies the retention policy once.
func (c *Collector) RetainNow(ctx context.Context) ([]store.Deletion, error) {
	now := c.clk.Now()
	dels, err := c.st.Retain(ctx, now, c.cfg.Retention)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("collect: retention failed (will retry at the next run)", "err", err)
		}
		return dels, err
	}
	for _, d := range dels {
		c.m.deleted.WithLabelValues(d.Kind).Add(float64(d.Deleted))
		c.log.Info("collect: retention deleted", "kind", d.Kind, "deleted", d.Deleted, "older_than", d.Cutoff.Format(time.RFC3339))
	}
	return dels, nil
}

// watchLoop checks the loss report: a gap open past the grace period, a
// lane gone offline or silent is logged once each.
func (c *Collector) watchLoop(ctx context.Context) {
	every := max(time.Second, min(c.cfg.Grace/2, time.Minute))
	t := c.clk.NewTicker(every)
	defer t.Stop()
	alerted := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		c.CheckNow(ctx, alerted)
	}
}

// CheckNow logs what the loss report shows that was not logged before
// (alerted remembers it; nil: log everything).
func (c *Collector) CheckNow(ctx context.Context, alerted map[string]bool) (store.Report, error) {
	if alerted == nil {
		alerted = map[string]bool{}
	}
	r, err := c.st.Report(ctx, c.clk.Now(), c.cfg.Grace, c.cfg.Silent)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("collect: loss report failed", "err", err)
		}
		return r, err
	}
	seen := map[string]bool{}
	for _, g := range r.Gaps {
		if !g.Overdue {
			continue
		}
		k := fmt.Sprintf("gap %s/%s %d", g.Site, g.Lane, g.From)
		seen[k] = true
		if !alerted[k] {
			alerted[k] = true
			c.m.gapsLate.Inc()
			c.log.Error("collect: messages missing: sequence gap open past the grace period", "site", g.Site, "lane", g.Lane,
				"from", g.From, "to", g.To, "missing", g.Size(), "age", g.Age.Round(time.Second))
		}
	}
	for _, l := range r.Lanes {
		for _, s := range []struct {
			on   bool
			what string
		}{{l.Offline, "offline"}, {l.Silent, "silent"}} {
			k := fmt.Sprintf("%s %s/%s", s.what, l.Site, l.Lane)
			if !s.on {
				continue
			}
			seen[k] = true
			if !alerted[k] {
				alerted[k] = true
				c.log.Warn("collect: lane "+s.what, "site", l.Site, "lane", l.Lane, "status", l.Status, "last_health", l.LastHealth, "last_seen", l.LastSeen)
			}
		}
	}
	for k := range alerted {
		if !seen[k] {
			delete(alerted, k) // resolved: alert again if it comes back
		}
	}
	return r, nil
}

func (c *Collector) figures(ctx context.Context) (reportFigures, error) {
	r, err := c.st.Report(ctx, c.clk.Now(), c.cfg.Grace, c.cfg.Silent)
	if err != nil {
		return reportFigures{}, err
	}
	f := reportFigures{openGaps: len(r.Gaps), overdueGaps: r.Overdue, lanes: len(r.Lanes)}
	for _, g := range r.Gaps {
		f.missing += g.Size()
	}
	for _, l := range r.Lanes {
		if l.Offline {
			f.offline++
		}
		if l.Silent {
			f.silent++
		}
	}
	return f, nil
}
