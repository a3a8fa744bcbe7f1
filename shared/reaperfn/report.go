package reaperfn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/reaper"
)

// Report is `porthygiene reaper report --json`: a contract that tests and
// scripts read. Times are RFC 3339 or null.
type Report struct {
	GeneratedAt  time.Time    `json:"generatedAt"`
	LookbackDays int          `json:"lookbackDays"`
	Rules        []ReportRule `json:"rules"`
}

// ReportRule is one rule's verdict.
type ReportRule struct {
	Region          string         `json:"region"`
	SecurityGroupID string         `json:"securityGroupId"`
	RuleID          string         `json:"ruleId"`
	Direction       string         `json:"direction"`
	Protocol        string         `json:"protocol"`
	PortRange       string         `json:"portRange"`
	Source          string         `json:"source"`
	Verdict         reaper.Verdict `json:"verdict"`
	Reason          string         `json:"reason"`
	LastSeen        *time.Time     `json:"lastSeen"`
	AnnouncedAt     *time.Time     `json:"announcedAt"`
	ClosesAt        *time.Time     `json:"closesAt"`
}

// Probe is REJECTed inbound traffic of a group (the review's unauthorized
// access attempts), summed over the look-back.
type Probe struct {
	Region          string `json:"region"`
	SecurityGroupID string `json:"securityGroupId"`
	Protocol        string `json:"protocol"`
	Port            string `json:"port"`
	Source          string `json:"source"`
	Hits            int64  `json:"hits"`
}

// ReportCloud is what the report reads of a region's ECS API.
type ReportCloud interface {
	observe.Reader
	ListGroups(ctx context.Context, opts cloud.ListOptions) ([]cloud.Group, error)
}

// ReportLedger is what the report reads of the ledger.
type ReportLedger interface {
	observe.Records
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// BuildReport judges every ingress accept rule of region's groups (only
// those of groups, when given) as the daily run would at now, with the
// rules closed in the look-back: the same planner, evidence and lifecycle.
func BuildReport(ctx context.Context, cl ReportCloud, st flowevidence.Store, sum flowevidence.Summary, led ReportLedger,
	pl *reaper.Planner, region string, now time.Time, groups []string) (Report, error) {
	s := pl.Settings()
	rep := Report{GeneratedAt: now.UTC(), LookbackDays: s.LookbackDays, Rules: []ReportRule{}}
	from, to := flowevidence.Window(now, s.LookbackDays)
	ev, err := flowevidence.Load(ctx, st, sum, region, from, to)
	if err != nil {
		return rep, err
	}
	recs, err := led.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindAnnouncement, ledger.KindClosure},
		Since: now.Add(-2 * (time.Duration(s.LookbackDays)*24*time.Hour + s.Grace))})
	if err != nil {
		return rep, fmt.Errorf("reaper report: read announcements: %w", err)
	}
	recs = slices.DeleteFunc(recs, func(r ledger.Record) bool { return r.Region != region })
	lc := reaper.ReadLifecycle(recs)
	gs, err := cl.ListGroups(ctx, cloud.ListOptions{GroupIDs: groups})
	if err != nil {
		return rep, fmt.Errorf("reaper report: list groups in %s: %w", region, err)
	}
	obs := observe.New(observe.Options{Ledger: led, Now: now, CachePrefixLists: true})
	for _, g := range gs {
		state, err := obs.Rules(ctx, cl, observe.Target{Region: region, GroupID: g.ID})
		if errors.Is(err, cloud.ErrNotFound) {
			continue
		}
		if err == nil {
			err = obs.Complete(ctx, cl, &state)
		}
		if err != nil {
			return rep, fmt.Errorf("reaper report: %s: %w", g.ID, err)
		}
		e := &reaper.Evidence{From: from, To: to, Use: map[string]reaper.Use{}, Gaps: []reaper.Gap{{Day: from.Format(time.DateOnly) + "..", Reason: "no-summary"}}}
		if x, ok := ev.Groups[g.ID]; ok {
			cp := *x
			e = &cp
		}
		lc.Apply(g.ID, e)
		state.Evidence = e
		present := map[string]bool{}
		for _, v := range pl.Judge(state, now) {
			present[v.Rule.ID] = true
			p := v.Rule.Permission()
			row := ReportRule{Region: region, SecurityGroupID: g.ID, RuleID: v.Rule.ID, Direction: string(v.Rule.Direction),
				Protocol: strings.ToLower(p.IpProtocol), PortRange: p.PortRange, Source: v.Rule.Peer.String(),
				Verdict: v.Verdict, Reason: v.Reason, LastSeen: timePtr(v.LastSeen)}
			if a := v.Announcement; a != nil && v.Verdict == reaper.Announced {
				row.AnnouncedAt, row.ClosesAt = timePtr(a.At), timePtr(a.ClosesAt)
			}
			rep.Rules = append(rep.Rules, row)
		}
		for ref, c := range lc.Closures {
			if ref.GroupID != g.ID || present[ref.RuleID] || c.At.Before(from) {
				continue
			}
			row := ReportRule{Region: region, SecurityGroupID: g.ID, RuleID: ref.RuleID, Direction: "ingress",
				Verdict: reaper.Closed, Reason: "closed unused; restore with: porthygiene restore --id " + c.ID, ClosesAt: timePtr(c.At)}
			for _, r := range recs {
				if r.ID == c.ID {
					if b, err := r.Closure(); err == nil {
						row.Protocol, row.PortRange = strings.ToLower(b.Rule.IpProtocol), b.Rule.PortRange
						row.Source = cmp.Or(b.Rule.SourceCidrIp, b.Rule.Ipv6SourceCidrIp, b.Rule.SourceGroupId, b.Rule.SourcePrefixListId)
					}
				}
				if r.ID == c.AnnouncementID {
					row.AnnouncedAt = timePtr(r.Time)
				}
			}
			rep.Rules = append(rep.Rules, row)
		}
	}
	slices.SortStableFunc(rep.Rules, func(a, b ReportRule) int {
		return cmp.Or(cmp.Compare(a.SecurityGroupID, b.SecurityGroupID), cmp.Compare(a.RuleID, b.RuleID))
	})
	return rep, nil
}

// Probes are the top REJECTed (port, source) of each group over the
// look-back from the summaries: one aggregate query.
func Probes(ctx context.Context, st flowevidence.Store, sum flowevidence.Summary, region string, from, to time.Time, top int) ([]Probe, error) {
	rows, err := st.Query(ctx, sum.Project, sum.Logstore, from, to, "kind: probe and region: "+logstore.Quote(region)+
		" | select sg, protocol, dstport, srcaddr, sum(cast(hits as bigint)) as hits group by sg, protocol, dstport, srcaddr order by hits desc limit "+strconv.Itoa(max(top, 1)))
	if err != nil {
		return nil, fmt.Errorf("probes of %s: %w", region, err)
	}
	out := make([]Probe, 0, len(rows))
	for _, r := range rows {
		n, _ := strconv.ParseInt(r["hits"], 10, 64)
		out = append(out, Probe{Region: region, SecurityGroupID: r["sg"], Protocol: r["protocol"], Port: r["dstport"], Source: r["srcaddr"], Hits: n})
	}
	return out, nil
}
