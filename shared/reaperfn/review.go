package reaperfn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/reaper"
)

// reviewWords are the monthly review's words in the robots' languages.
var reviewWords = map[notify.Lang]map[string]string{
	notify.LangZH: {"counts": "本月：已关闭 %d，已公告 %d，取消关闭（保留）%d；无法判定 %d；使用中 %d",
		"probes": "发现未授权的端口访问尝试：", "unknown": "无法判定：", "none": "未发现未授权的端口访问尝试", "sep": "；"},
	notify.LangEN: {"counts": "this month: %d closed, %d announced, %d kept (closure called off); %d unknown; %d in use",
		"probes": "unauthorized access attempts: ", "unknown": "unknown: ", "none": "no unauthorized access attempts seen", "sep": "; "},
}

// review sends each group's monthly port review to its team's robot (the
// routing tags): rules closed, announced and kept in the last 30 days, the
// rules it cannot judge and why, and the REJECTed probes by port and source.
// Its event ids are keyed by group and month: a redelivered timer sends
// nothing twice.
func (r *Reaper) review(ctx context.Context, deps Deps, now time.Time, lang notify.Lang) (Result, error) {
	res := Result{Result: engine.Result{Source: "review"}}
	if deps.Store == nil || deps.Notifier == nil || deps.Ledger == nil {
		return res, errors.New("reaper: review: no log store, notifier or ledger")
	}
	w := reviewWords[lang]
	if w == nil {
		w = reviewWords[notify.LangZH]
	}
	month := now.UTC().Format("2006-01")
	since := now.Add(-30 * 24 * time.Hour)
	var events []notify.Event
	var errs []error
	for _, region := range r.cfg.Regions {
		cl, err := deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rep, err := BuildReport(ctx, cl, deps.Store, r.cfg.Summary, deps.Ledger, r.Planner, region, now, nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		from, to := flowevidence.Window(now, r.cfg.Settings.LookbackDays)
		probes, err := Probes(ctx, deps.Store, r.cfg.Summary, region, from, to, 500)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs, err := deps.Ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindAnnouncement, ledger.KindClosure}, Since: since})
		if err != nil {
			errs = append(errs, fmt.Errorf("reaper: review: %w", err))
			continue
		}
		type tally struct{ closed, announced, kept, unknown, used int }
		byGroup := map[string]*tally{}
		unknown := map[string][]string{}
		get := func(g string) *tally {
			if byGroup[g] == nil {
				byGroup[g] = &tally{}
			}
			return byGroup[g]
		}
		for _, row := range rep.Rules {
			t := get(row.SecurityGroupID)
			switch row.Verdict {
			case reaper.Unknown:
				t.unknown++
				unknown[row.SecurityGroupID] = append(unknown[row.SecurityGroupID], row.RuleID+" ("+row.Reason+")")
			case reaper.Used:
				t.used++
			}
		}
		for _, rec := range recs {
			if rec.Region != region || rec.Time.Before(since) {
				continue
			}
			t := get(rec.GroupID)
			switch {
			case rec.Kind == ledger.KindClosure:
				t.closed++
			case rec.Kind == ledger.KindAnnouncement:
				if b, err := rec.Announcement(); err == nil && b.Stage == ledger.StageCancelled {
					t.kept++
				} else if err == nil {
					t.announced++
				}
			}
		}
		probesOf := map[string][]string{}
		for _, p := range probes {
			probesOf[p.SecurityGroupID] = append(probesOf[p.SecurityGroupID], fmt.Sprintf("%s/%s ← %s ×%d", p.Protocol, p.Port, p.Source, p.Hits))
			get(p.SecurityGroupID)
		}
		groups := make([]string, 0, len(byGroup))
		for g := range byGroup {
			groups = append(groups, g)
		}
		slices.Sort(groups)
		for _, g := range groups {
			t := byGroup[g]
			tags, err := cl.GroupTags(ctx, g)
			if err != nil {
				errs = append(errs, fmt.Errorf("reaper: review: tags of %s: %w", g, err))
				continue
			}
			var detail []string
			if ps := probesOf[g]; len(ps) > 0 {
				detail = append(detail, w["probes"]+strings.Join(ps[:min(len(ps), 8)], w["sep"]))
			} else {
				detail = append(detail, w["none"])
			}
			if us := unknown[g]; len(us) > 0 {
				detail = append(detail, w["unknown"]+strings.Join(us[:min(len(us), 5)], w["sep"]))
			}
			events = append(events, notify.Event{
				ID: fmt.Sprintf("%s/review/%s/%s/%s", r.cfg.Name, region, g, month), Kind: notify.KindReaperReview, Severity: notify.SeverityInfo,
				Region: region, GroupID: g, Action: fmt.Sprintf(w["counts"], t.closed, t.announced, t.kept, t.unknown, t.used),
				Detail: strings.Join(detail, w["sep"]), Owner: apply.OwnerFromTags(tags),
			})
		}
	}
	if len(events) > 0 {
		if _, err := deps.Notifier.Notify(ctx, now, events); err != nil {
			errs = append(errs, fmt.Errorf("reaper: review: notify: %w", err))
		}
	}
	res.Groups = make([]string, 0, len(events))
	for _, ev := range events {
		res.Groups = append(res.Groups, ev.GroupID)
	}
	return res, errors.Join(errs...)
}
