// Package reaperfn is the reaper as an engine Function: its pure planner
// (shared/reaper), the evidence reader that hands each group's flow-log
// evidence and lifecycle to it (flowevidence.Load and the ledger, once per
// region and run), and the timer jobs beside the engine's sweep — the daily
// summary ({"mode":"summary"}) and the monthly review ({"mode":"review"}) —
// dispatched before the engine sees the payload. The daily run is the
// engine's sweep ({"mode":"sweep"}).
package reaperfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// Config configures the reaper.
type Config struct {
	engine.Config
	Settings reaper.Settings
	// Summary is the summary logstore.
	Summary flowevidence.Summary
	// SummaryDays is how many days back the summary job makes sure are
	// summarized (default 2: yesterday, and the day before if its run was
	// missed).
	SummaryDays int
	// Lang is the monthly review's language (the robots', DINGTALK_LANG).
	Lang notify.Lang
}

// Deps are one invocation's clients: the engine's, the log store of the
// flow logs and summaries, and each region's flow-log listing.
type Deps struct {
	engine.Deps
	Store    flowevidence.Store
	FlowLogs func(region string) (flowevidence.FlowLogs, error)
}

// Result is what one invocation did.
type Result struct {
	engine.Result
	Summaries []flowevidence.Stats `json:"summaries,omitempty"`
}

// Reaper is the reaper function. Build it with New; safe for concurrent use.
type Reaper struct {
	*reaper.Planner
	cfg    Config
	engine *engine.Engine
	log    *slog.Logger
}

// New builds the reaper. cfg.MaxChanges defaults to the settings' MaxCloses.
func New(pol *policy.Policy, cfg Config) (*Reaper, error) {
	if cfg.Name == "" {
		cfg.Name = "reaper"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Summary.Project == "" || cfg.Summary.Logstore == "" {
		return nil, errors.New("reaper: the summary logstore (project and name) is required")
	}
	if cfg.SummaryDays <= 0 {
		cfg.SummaryDays = 2
	}
	pl, err := reaper.NewPlanner(pol, cfg.Settings)
	if err != nil {
		return nil, err
	}
	cfg.Settings = pl.Settings()
	if cfg.MaxChanges == 0 {
		cfg.MaxChanges = cfg.Settings.MaxCloses
	}
	r := &Reaper{Planner: pl, cfg: cfg, log: cfg.Logger}
	if r.engine, err = engine.New(cfg.Config, r); err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	return r, nil
}

// Handles: no ActionTrail event makes the reaper plan; it runs on timers.
func (r *Reaper) Handles(string) bool { return false }

// BeforeSweep does nothing: the evidence is read with the first group.
func (r *Reaper) BeforeSweep(context.Context, *engine.Run, string, engine.Cloud) error { return nil }

type regionKey string

type regionEvidence struct {
	once sync.Once
	ev   *flowevidence.Region
	lc   reaper.Lifecycle
	err  error
}

// ReadEvidence hands the planner the group's evidence: the region's
// summaries over the look-back and the reaper's records in the ledger, read
// once per run and region. A group no summary mentions gets evidence of no
// covered day (unknown, never unused).
func (r *Reaper) ReadEvidence(ctx context.Context, run *engine.Run, st *observe.State) error {
	h := run.Value(regionKey(st.Region), func() any { return &regionEvidence{} }).(*regionEvidence)
	h.once.Do(func() { h.ev, h.lc, h.err = r.load(ctx, run, st.Region) })
	if h.err != nil {
		return h.err
	}
	ev := &reaper.Evidence{From: h.ev.From, To: h.ev.To, Use: map[string]reaper.Use{},
		Gaps: []reaper.Gap{{Day: h.ev.From.Format(time.DateOnly) + "..", Reason: "no-summary"}}}
	if g, ok := h.ev.Groups[st.GroupID]; ok {
		cp := *g
		ev = &cp
	}
	h.lc.Apply(st.GroupID, ev)
	st.Evidence = ev
	return nil
}

func (r *Reaper) load(ctx context.Context, run *engine.Run, region string) (*flowevidence.Region, reaper.Lifecycle, error) {
	deps, _ := run.Extra().(*Deps)
	if deps == nil || deps.Store == nil {
		return nil, reaper.Lifecycle{}, errors.New("reaper: no log store for the summaries")
	}
	store := deps.Store
	from, to := flowevidence.Window(run.Now(), r.cfg.Settings.LookbackDays)
	ev, err := flowevidence.Load(ctx, store, r.cfg.Summary, region, from, to)
	if err != nil {
		return nil, reaper.Lifecycle{}, err
	}
	r.log.InfoContext(ctx, "evidence", "region", region, "from", from, "to", to, "groups", len(ev.Groups), "queries", ev.Queries, "rows", ev.Rows)
	var lc reaper.Lifecycle
	if led := run.Ledger(); led != nil {
		// Far enough back for an announcement still open: the look-back,
		// the grace, and as long again for runs held back by the cap.
		since := run.Now().Add(-2 * (time.Duration(r.cfg.Settings.LookbackDays)*24*time.Hour + r.cfg.Settings.Grace))
		recs, err := led.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindAnnouncement, ledger.KindClosure}, Since: since})
		if err != nil {
			return nil, reaper.Lifecycle{}, fmt.Errorf("reaper: read announcements: %w", err)
		}
		var mine []ledger.Record
		for _, rec := range recs {
			if rec.Region == region {
				mine = append(mine, rec)
			}
		}
		lc = reaper.ReadLifecycle(mine)
	} else {
		return nil, reaper.Lifecycle{}, errors.New("reaper: no ledger: the lifecycle cannot be read")
	}
	return ev, lc, nil
}

// timerMode is the mode of a timer payload ("" for other payloads).
func timerMode(payload []byte) (trigger.TimerEvent, string) {
	ev, err := trigger.Decode(payload)
	if err != nil {
		return trigger.TimerEvent{}, ""
	}
	t, ok := ev.(trigger.TimerEvent)
	if !ok {
		return trigger.TimerEvent{}, ""
	}
	raw, err := t.PayloadJSON()
	if err != nil {
		return t, ""
	}
	var p struct {
		Mode string `json:"mode"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return t, ""
	}
	return t, p.Mode
}

// Handle processes one payload: the summary job, or the engine's sweep
// (the daily run) and everything else the engine handles.
func (r *Reaper) Handle(ctx context.Context, deps Deps, payload []byte) (Result, error) {
	t, mode := timerMode(payload)
	switch mode {
	case "summary", "review":
		now, _ := clock.Decide(clock.Wall(ctx, r.cfg.Wall), t.TriggerTime, clock.Skew)
		if mode == "review" {
			return r.review(ctx, deps, now, r.cfg.Lang)
		}
		return r.summarize(ctx, deps, now)
	}
	ed := deps.Deps
	ed.Extra = &deps // the run's ReadEvidence finds the store here
	er, err := r.engine.Handle(ctx, ed, payload)
	return Result{Result: er}, err
}

// summarize writes the daily summaries of the last SummaryDays complete days
// of every region (a day already done is skipped at the cost of one query).
func (r *Reaper) summarize(ctx context.Context, deps Deps, now time.Time) (Result, error) {
	res := Result{Result: engine.Result{Source: "summary"}}
	if deps.Store == nil || deps.FlowLogs == nil {
		return res, errors.New("reaper: summary: no log store or flow-log reader")
	}
	var errs []error
	regions := slices.Clone(r.cfg.Regions)
	for _, region := range regions {
		cl, err := deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sc, ok := cl.(flowevidence.Cloud)
		if !ok {
			errs = append(errs, fmt.Errorf("reaper: summary: the %s client cannot list network interfaces", region))
			continue
		}
		fls, err := deps.FlowLogs(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		today := now.UTC().Truncate(24 * time.Hour)
		for d := r.cfg.SummaryDays; d >= 1; d-- {
			st, err := flowevidence.Summarize(ctx, sc, fls, deps.Store, r.cfg.Summary, region, today.Add(-time.Duration(d)*24*time.Hour))
			res.Summaries = append(res.Summaries, st)
			if err != nil {
				errs = append(errs, err)
				break
			}
			r.log.InfoContext(ctx, "summary", "region", region, "day", st.Day, "skipped", st.Skipped, "enis", st.ENIs, "covered", st.Covered,
				"queries", st.Queries, "rows", st.Rows, "rules", st.Rules, "probes", st.Probes)
		}
	}
	return res, errors.Join(errs...)
}
