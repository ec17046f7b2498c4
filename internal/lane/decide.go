package lane

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/laned/laned/internal/match"
	"github.com/laned/laned/internal/outbox"
	"github.com/laned/laned/internal/summary"
	"github.com/laned/laned/internal/vision"
)

// group is one occupant: the tracks (of one or more cameras) merged by
// template similarity inside the transaction.
type group struct {
	tracks []*track
	probe  []float32 // normalised mean template, nil without templates
}

func (g *group) first() time.Time {
	f := g.tracks[0].first
	for _, t := range g.tracks[1:] {
		if t.first.Before(f) {
			f = t.first
		}
	}
	return f
}

func (g *group) templates() []vision.Embedding {
	var out []vision.Embedding
	for _, t := range g.tracks {
		out = append(out, t.templates()...)
	}
	return out
}

// conflicts: two tracks of one camera seen at the same time are two people.
func (g *group) conflicts(o *group) bool {
	for _, a := range g.tracks {
		for _, b := range o.tracks {
			if a.camera == b.camera && !a.lastT.Before(b.first) && !b.lastT.Before(a.first) {
				return true
			}
		}
	}
	return false
}

func meanProbe(ts []vision.Embedding) []float32 {
	if len(ts) == 0 {
		return nil
	}
	out := make([]float32, len(ts[0]))
	for _, t := range ts {
		if len(t) != len(out) {
			continue
		}
		n := norm(t)
		if n == 0 {
			continue
		}
		for i, v := range t {
			out[i] += float32(float64(v) / n)
		}
	}
	n := norm(out)
	if n == 0 {
		return nil
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / n)
	}
	return out
}

func norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }

// decide finishes a transaction: remaining embeddings, merge, search,
// decision, summary into the sink, and every chip and template zeroed.
func (l *Lane) decide(ctx context.Context, t *txn) {
	defer l.release(t)
	var tracks []*track
	for _, c := range l.cfg.Cameras {
		tracks = append(tracks, t.trackers[c.Name].tracks...)
	}
	l.embedRest(ctx, t, tracks)

	// Occupants with templates, merged across cameras and gaps.
	var groups []*group
	var bare []*track
	for _, tr := range tracks {
		if ts := tr.templates(); len(ts) > 0 {
			groups = append(groups, &group{tracks: []*track{tr}, probe: meanProbe(ts)})
		} else if tr.faces >= l.cfg.MinFaces {
			bare = append(bare, tr)
		}
	}
	groups = l.merge(groups)
	groups = append(groups, l.bareOccupants(groups, bare)...)
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].first().Before(groups[j].first()) })
	if len(groups) > 16 {
		groups = groups[:16]
	}

	snap := t.snap
	tr := summary.NewTransaction()
	tr.TransactionID, tr.Site, tr.Lane = t.id, l.d.Site, l.d.Lane
	tr.DetectedAt = t.start.UTC()
	tr.GalleryVersion, tr.ModelID = orDefault(snap.Version(), "none"), orDefault(snap.ModelID(), "none")
	tr.Trigger, tr.End = t.trigger, t.end
	if len(t.faults) > 0 {
		tr.Faults = t.faults
	}
	tr.Occupants = []summary.Occupant{}
	occs := make([]summary.Occupant, len(groups))
	for i, g := range groups {
		occs[i] = l.occupant(ctx, t, g)
	}
	groups, occs = sameSubject(groups, occs)
	for i, g := range groups {
		o := occs[i]
		o.Index = i
		tr.Occupants = append(tr.Occupants, o)
		if o.Decision == summary.NoMatch && l.cfg.Evidence {
			l.putEvidence(ctx, t, g, i, o)
		}
		clear(g.probe)
	}
	done := l.clk.Now()
	if done.Before(t.start) {
		done = t.start
	}
	tr.CompletedAt = done.UTC()
	tr.Latency = summary.Latency{
		Capture: ms(t.captureEnd.Sub(t.start)), Detect: ms(t.detect), Embed: ms(t.embedDur),
		Match: ms(t.matchDur), Total: ms(done.Sub(t.start)),
	}
	b, err := summary.Marshal(&tr)
	if err != nil {
		// A bug, not an input: say so loudly, keep the lane running.
		l.log.Error("summary invalid", "transaction", t.id, "err", err)
		l.raise(ctx, Fault{Source: "lane", Code: "lane.summary_invalid", Active: true, At: done, Severity: "critical", Message: clipMsg(err.Error())})
		return
	}
	l.statMu.Lock()
	l.stats.Transactions++
	for _, o := range tr.Occupants {
		l.stats.Decisions[string(o.Decision)]++
	}
	l.stats.LastTransaction = tr.TransactionID
	l.statMu.Unlock()
	l.pending = append(l.pending, b)
	l.flushPending(ctx, time.Time{})
}

func ms(d time.Duration) float64 {
	v := math.Round(float64(d)/1e3) / 1e3
	return max(0, min(v, 3600000))
}

func clipMsg(s string) string {
	if len(s) > 250 {
		return s[:250]
	}
	return s
}

// flushPending commits waiting summaries in order; on a refusal it retries
// a second later (now zero: try regardless).
func (l *Lane) flushPending(ctx context.Context, now time.Time) {
	if len(l.pending) == 0 || (!now.IsZero() && now.Before(l.retryAt)) {
		return
	}
	for len(l.pending) > 0 {
		if _, err := l.d.Sink.Enqueue(ctx, outbox.KindSummary, l.pending[0]); err != nil {
			l.retryAt = l.clk.Now().Add(time.Second)
			l.log.Error("summary not committed, retrying", "waiting", len(l.pending), "err", err)
			l.raise(ctx, Fault{Source: "lane", Code: "outbox.enqueue", Active: true, At: l.clk.Now(), Severity: "critical", Message: clipMsg(err.Error())})
			return
		}
		l.pending = l.pending[1:]
		l.statMu.Lock()
		l.stats.Summaries++
		l.statMu.Unlock()
	}
	l.pending = nil
}

// embedRest embeds the kept shots not embedded yet, within each track's
// budget, in one batch.
func (l *Lane) embedRest(ctx context.Context, t *txn, tracks []*track) {
	var jobs []embedJob
	var chips []vision.Chip
	for _, tr := range tracks {
		left := l.cfg.EmbedBudget - tr.embedded
		for _, s := range tr.shots {
			if left <= 0 {
				break
			}
			if s.emb == nil && !s.gone {
				jobs = append(jobs, embedJob{tr, s})
				chips = append(chips, s.cand.Chip)
				left--
			}
		}
	}
	if len(chips) == 0 {
		return
	}
	start := l.clk.Now()
	embs, err := l.d.Analyzer.Embed(ctx, chips)
	t.embedDur += l.clk.Now().Sub(start)
	if err != nil || len(embs) != len(chips) {
		l.log.Warn("embedding failed", "transaction", t.id, "chips", len(chips), "err", err)
		for _, e := range embs {
			clear(e)
		}
		return
	}
	for i, j := range jobs {
		l.setTemplate(j.t, j.s, embs[i])
	}
}

// merge joins groups whose probes are at least MergeThreshold similar, most
// similar first, never two tracks one camera saw at the same time.
func (l *Lane) merge(gs []*group) []*group {
	for {
		bi, bj, best := -1, -1, l.cfg.MergeThreshold
		for i := range gs {
			for j := i + 1; j < len(gs); j++ {
				if s := dot(gs[i].probe, gs[j].probe); s >= best && !gs[i].conflicts(gs[j]) {
					bi, bj, best = i, j, s
				}
			}
		}
		if bi < 0 {
			return gs
		}
		g := gs[bi]
		g.tracks = append(g.tracks, gs[bj].tracks...)
		clear(g.probe)
		clear(gs[bj].probe)
		g.probe = meanProbe(g.templates())
		gs = append(gs[:bj], gs[bj+1:]...)
	}
}

// bareOccupants turns tracks without a usable shot into occupants only
// when nobody already found explains them. A bare track is explained by an
// occupant none of whose tracks in that camera overlaps it in time: the
// same person's face cut by the frame edge before it came fully into view,
// a broken track, or the unusable view in one camera of a person matched in
// the other. One camera seeing two faces at once means two people.
func (l *Lane) bareOccupants(groups []*group, bare []*track) []*group {
	if len(bare) == 0 {
		return nil
	}
	sort.SliceStable(bare, func(i, j int) bool { return bare[i].faces > bare[j].faces })
	overlaps := func(g *group, t *track) bool {
		for _, o := range g.tracks {
			if o.camera == t.camera && !o.lastT.Before(t.first) && !t.lastT.Before(o.first) {
				return true
			}
		}
		return false
	}
	var out []*group
	for _, t := range bare {
		var host *group
		for _, g := range append(groups[:len(groups):len(groups)], out...) {
			if !overlaps(g, t) {
				host = g
				break
			}
		}
		if host == nil {
			out = append(out, &group{tracks: []*track{t}})
			continue
		}
		// The attempts count for that occupant; its templates are unchanged.
		host.tracks = append(host.tracks, t)
	}
	return out
}

// sameSubject joins two occupants matched to the same subject when no
// camera saw them at the same time: one person whose views were too
// different to merge by template (two cameras, night noise) but that the
// gallery recognises in both. The better-scored decision stands; attempts
// add up.
func sameSubject(gs []*group, os []summary.Occupant) ([]*group, []summary.Occupant) {
	for i := 0; i < len(gs); i++ {
		if os[i].Decision != summary.Match {
			continue
		}
		for j := i + 1; j < len(gs); j++ {
			if os[j].Decision != summary.Match || os[j].SubjectID != os[i].SubjectID || gs[i].conflicts(gs[j]) {
				continue
			}
			keep, drop := i, j
			if *os[j].Score > *os[i].Score {
				keep, drop = j, i
			}
			a, b := os[keep].Attempts, os[drop].Attempts
			a.Faces, a.Usable, a.Embedded = a.Faces+b.Faces, a.Usable+b.Usable, a.Embedded+b.Embedded
			gs[keep].tracks = append(gs[keep].tracks, gs[drop].tracks...)
			os[i], gs[i] = os[keep], gs[keep]
			clear(gs[j].probe)
			gs = append(gs[:j], gs[j+1:]...)
			os = append(os[:j], os[j+1:]...)
			j--
		}
	}
	return gs, os
}

// occupant decides one occupant.
func (l *Lane) occupant(ctx context.Context, t *txn, g *group) summary.Occupant {
	var o summary.Occupant
	var att summary.Attempts
	var bestShot *shot
	var bestTrack *track
	for _, tr := range g.tracks {
		att.Faces += tr.faces
		att.Usable += tr.usable
		att.Embedded += tr.embedded
		for _, s := range tr.shots {
			if s.emb != nil && (bestShot == nil || s.cand.Quality.Score > bestShot.cand.Quality.Score) {
				bestShot = s
			}
		}
		if bestTrack == nil || tr.best.Score > bestTrack.best.Score {
			bestTrack = tr
		}
	}
	o.Attempts = &att
	if bestShot == nil || g.probe == nil {
		o.Decision = summary.NoUsableImage
		o.Camera = bestTrack.camera
		q := round4(bestTrack.best.Score)
		o.Quality = &q
		o.Reason = l.reason(t, bestTrack)
		return o
	}
	o.Camera = bestShot.cand.Camera
	q := round4(bestShot.cand.Quality.Score)
	o.Quality = &q
	ranked, votesOK := l.search(ctx, t, g)
	if len(ranked) == 0 {
		o.Decision = summary.NoMatch // nobody in the gallery to be
		return o
	}
	s := round4(float64(ranked[0].Score))
	o.Score = &s
	switch {
	case s >= l.cfg.MatchThreshold && votesOK:
		o.Decision, o.SubjectID = summary.Match, ranked[0].Subject
	case s >= l.cfg.UnknownThreshold:
		o.Decision = summary.Candidate
	default:
		o.Decision = summary.NoMatch
		return o
	}
	for _, r := range ranked[:min(len(ranked), l.cfg.TopCandidates)] {
		o.Candidates = append(o.Candidates, summary.Scored{SubjectID: r.Subject, Score: round4(float64(r.Score))})
	}
	return o
}

func round4(v float64) float64 { return max(-1, min(1, math.Round(v*1e4)/1e4)) }

// search ranks the gallery's subjects for g in the pinned snapshot. Mean
// fusion searches the fused probe once. Vote searches each template: the
// subject ranked first by most templates wins, scored by its mean score; a
// winner without a strict majority is reported false (never a match).
func (l *Lane) search(ctx context.Context, t *txn, g *group) ([]match.Result, bool) {
	start := l.clk.Now()
	defer func() { t.matchDur += l.clk.Now().Sub(start) }()
	k := max(l.cfg.TopCandidates, 1)
	if l.cfg.Fusion == FusionMean {
		rs, err := t.snap.Search(g.probe, k)
		if err != nil {
			l.searchFault(ctx, t, err)
			return nil, false
		}
		return rs, true
	}
	ts := g.templates()
	votes := map[string]int{}
	sum := map[string]float64{}
	seen := map[string]int{}
	for _, e := range ts {
		rs, err := t.snap.Search(e, k)
		if err != nil {
			l.searchFault(ctx, t, err)
			return nil, false
		}
		if len(rs) > 0 {
			votes[rs[0].Subject]++
		}
		for _, r := range rs {
			sum[r.Subject] += float64(r.Score)
			seen[r.Subject]++
		}
	}
	var ranked []match.Result
	for s, n := range seen {
		ranked = append(ranked, match.Result{Subject: s, Score: float32(sum[s] / float64(n))})
	}
	sort.Slice(ranked, func(i, j int) bool {
		vi, vj := votes[ranked[i].Subject], votes[ranked[j].Subject]
		if vi != vj {
			return vi > vj
		}
		if ranked[i].Score != ranked[j].Score {
			return ranked[i].Score > ranked[j].Score
		}
		return ranked[i].Subject < ranked[j].Subject
	})
	if len(ranked) == 0 {
		return nil, false
	}
	return ranked, 2*votes[ranked[0].Subject] > len(ts)
}

func (l *Lane) searchFault(ctx context.Context, t *txn, err error) {
	l.log.Error("gallery search failed", "transaction", t.id, "err", err)
	l.raise(ctx, Fault{Source: "lane", Code: "gallery.search", Active: true, At: l.clk.Now(), Severity: "error", Message: clipMsg(err.Error())})
	t.addFault("lane", "gallery.search")
}

// reason is the schema's reason for an occupant without a usable shot: the
// best attempt's verdict, unless the pass was cut by shutdown or the
// occupant's camera failed.
func (l *Lane) reason(t *txn, tr *track) summary.Reason {
	switch {
	case t.end == summary.EndShutdown:
		return summary.ReasonTimeout
	case t.camFault[tr.camera]:
		return summary.ReasonCameraFault
	}
	switch tr.best.Verdict {
	case vision.VerdictTooSmall:
		return summary.ReasonTooSmall
	case vision.VerdictBlurred:
		return summary.ReasonBlurred
	case vision.VerdictTooDark:
		return summary.ReasonTooDark
	case vision.VerdictOverexposed:
		return summary.ReasonOverexposed
	case vision.VerdictBadPose:
		return summary.ReasonBadPose
	case vision.VerdictOccluded, vision.VerdictOK:
		return summary.ReasonOccluded // usable but cut by the frame edge, or occluded
	}
	return summary.ReasonNoFace
}

func (l *Lane) putEvidence(ctx context.Context, t *txn, g *group, idx int, o summary.Occupant) {
	var best *shot
	for _, tr := range g.tracks {
		for _, s := range tr.shots {
			if !s.gone && (best == nil || s.cand.Quality.Score > best.cand.Quality.Score) {
				best = s
			}
		}
	}
	if best == nil {
		return
	}
	var score float64
	if o.Score != nil {
		score = *o.Score
	}
	err := l.d.Evidence.Put(ctx, Evidence{TransactionID: t.id, Occupant: idx, Camera: best.cand.Camera,
		At: best.cand.Time, Score: score, Chip: best.cand.Chip})
	if err != nil {
		l.log.Warn("evidence not stored", "transaction", t.id, "err", err)
	}
}

// release zeroes and forgets everything biometric the transaction held.
func (l *Lane) release(t *txn) {
	for _, tk := range t.trackers {
		for _, tr := range tk.tracks {
			for _, s := range tr.shots {
				l.dropShot(s)
			}
			tr.shots = nil
			clear(tr.sig)
			tr.sig = nil
		}
		tk.tracks = nil
	}
	var q []embedJob
	for _, j := range l.embedQ {
		if !j.s.gone {
			q = append(q, j)
		}
	}
	l.embedQ = q
	t.snap = nil
	l.statMu.Lock()
	l.stats.Retained = l.retained
	l.statMu.Unlock()
}

func (t *txn) String() string { return fmt.Sprintf("txn %s", t.id) }
