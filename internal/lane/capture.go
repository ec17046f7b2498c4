package lane

import (
	"context"
	"time"

	"github.com/laned/laned/internal/frame"
	"github.com/laned/laned/internal/vision"
)

// accepts reports whether a frame captured at ft belongs to t's capture.
func (t *txn) accepts(ft time.Time, pre time.Duration) bool {
	return t != nil && !ft.Before(t.start.Add(-pre)) && (t.captureEnd.IsZero() || ft.Before(t.captureEnd))
}

// analyze runs one frame through the analysis API and the trackers: a
// detection continuing a track of the trailing vehicle stays with it, the
// others go to the present vehicle.
func (l *Lane) analyze(ctx context.Context, f *frame.Frame) {
	inCur, inTrail := l.cur.accepts(f.Time, l.cfg.PreMargin), l.trail.accepts(f.Time, 0)
	if !inCur && !inTrail {
		l.countCam(f.Camera, func(c *CameraStats) { c.Idle++ })
		return
	}
	a, err := l.d.Analyzer.Analyze(ctx, f)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("analysis failed", "camera", f.Camera, "seq", f.Seq, "err", err)
		}
		l.countCam(f.Camera, func(c *CameraStats) { c.Errors++ })
		return
	}
	owner := l.cur
	if !inCur {
		owner = l.trail
	}
	owner.frames++
	owner.detect += a.Timings.Total
	obs := l.observations(f, a)
	l.countCam(f.Camera, func(s *CameraStats) { s.Analysed++; s.Faces += uint64(len(obs)) })
	if len(obs) > 0 {
		l.slot.occupied(f.Camera, f.Time.Add(time.Second))
	}
	if inTrail {
		tk := l.trail.trackers[f.Camera]
		matched := tk.match(obs, f.Time)
		tk.update(matched, obs, f.Time)
		var rest []observation
		for i, tr := range matched {
			if tr != nil {
				l.observe(tr, obs[i])
			} else {
				rest = append(rest, obs[i])
			}
		}
		obs = rest
	}
	if !inCur {
		for _, o := range obs {
			zeroChip(o.cand.Chip)
		}
		return
	}
	tracks := l.cur.trackers[f.Camera].assign(obs, f.Time)
	for i, o := range obs {
		l.observe(tracks[i], o)
	}
}

// observations are a frame's in-zone detections, stamped with the frame's
// capture time; chips of the others are zeroed.
func (l *Lane) observations(f *frame.Frame, a vision.Analysis) []observation {
	ci, _ := l.cfg.camera(f.Camera)
	cc := l.cfg.Cameras[ci]
	z := cc.Zone
	var obs []observation
	for _, c := range a.Candidates {
		c.Camera, c.Seq, c.Time = f.Camera, f.Seq, f.Time // capture time, never processing time
		b := c.Face.Box
		cx, cy := float64(b.X0+b.X1)/2/float64(f.Width), float64(b.Y0+b.Y1)/2/float64(f.Height)
		if cx < z.X0 || cx >= z.X1 || cy < z.Y0 || cy >= z.Y1 {
			zeroChip(c.Chip)
			continue
		}
		m := float32(cc.EdgeMargin)
		edge := b.X0 < m || b.Y0 < m || b.X1 > float32(f.Width)-m || b.Y1 > float32(f.Height)-m
		var sig []float32
		if !c.Chip.Empty() {
			sig = signature(c.Chip)
		}
		obs = append(obs, observation{cand: c, sig: sig, edge: edge})
	}
	return obs
}

// observe updates a track with one detection and keeps its chip only if it
// enters the best K.
func (l *Lane) observe(tr *track, o observation) {
	q := o.cand.Quality
	if q.Score > tr.best.Score || tr.faces == 1 {
		tr.best, tr.bestEdge = q, o.edge
	}
	eligible := q.Usable() && !o.edge && !o.cand.Chip.Empty()
	if q.Usable() && !o.edge {
		tr.usable++
	}
	if !eligible {
		zeroChip(o.cand.Chip)
		return
	}
	s := tr.addShot(o.cand, l.cfg.BestK, l.cfg.Hysteresis, l.dropShot)
	if s == nil {
		zeroChip(o.cand.Chip)
		return
	}
	l.retained++
	if tr.embedded < l.cfg.EmbedBudget && (tr.embedded == 0 || q.Score > tr.bestEmbed+l.cfg.ReembedMargin) && !l.queuedFor(tr) {
		s.queued = true
		l.embedQ = append(l.embedQ, embedJob{tr, s})
	}
}

func (l *Lane) queuedFor(tr *track) bool {
	for _, j := range l.embedQ {
		if j.t == tr && !j.s.gone {
			return true
		}
	}
	return false
}

// dropShot forgets a shot: its chip and template are zeroed.
func (l *Lane) dropShot(s *shot) {
	if s.gone {
		return
	}
	s.gone = true
	zeroChip(s.cand.Chip)
	s.cand.Chip = vision.Chip{}
	l.retained--
	if s.emb != nil {
		clear(s.emb)
		s.emb = nil
		l.retained--
	}
}

func zeroChip(c vision.Chip) { clear(c.Pix) }

// runEmbeds embeds the queued early shots in one batch.
func (l *Lane) runEmbeds(ctx context.Context) {
	q := l.embedQ
	l.embedQ = nil
	var jobs []embedJob
	var chips []vision.Chip
	for _, j := range q {
		j.s.queued = false
		if !j.s.gone && j.s.emb == nil {
			jobs = append(jobs, j)
			chips = append(chips, j.s.cand.Chip)
		}
	}
	if len(chips) == 0 {
		return
	}
	var tx *txn
	if l.cur != nil {
		tx = l.cur
	}
	start := l.clk.Now()
	embs, err := l.d.Analyzer.Embed(ctx, chips)
	if tx != nil {
		tx.embedDur += l.clk.Now().Sub(start)
	}
	if err != nil || len(embs) != len(chips) {
		l.log.Warn("embedding failed", "chips", len(chips), "templates", len(embs), "err", err)
		return
	}
	for i, j := range jobs {
		l.setTemplate(j.t, j.s, embs[i])
	}
}

func (l *Lane) setTemplate(t *track, s *shot, e vision.Embedding) {
	t.embedded++
	if s.gone || len(e) == 0 {
		clear(e)
		return
	}
	s.emb = e
	l.retained++
	if sc := s.cand.Quality.Score; sc > t.bestEmbed {
		t.bestEmbed = sc
	}
}
