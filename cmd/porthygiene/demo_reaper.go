package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/reaperfn"
)

// reaperLifecycle is the reaper's chapter: the default world's seed traffic
// (443 every day, 8080 silent, 3306 from day 33, probes of closed ports, an
// ENI without a flow log) told over 38 virtual days, in the shipped notify
// mode (announce and report, close nothing).
func (d *demo) reaperLifecycle(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "5. the reaper: rules that carried no traffic")
	// Days of hourly guard sweeps and ten-minute replicator reconciles
	// (5,000 of them in 38 days) are not this chapter's story and cost wall
	// time: their timers are paused; the functions' events still run.
	for _, t := range [][2]string{{"porthygiene-guard", "sweep"}, {"porthygiene-replicator", "reconcile"}} {
		if err := d.cloud.SetTriggerEnabled(t[0], t[1], false); err != nil {
			continue // not deployed in this run
		}
		defer d.cloud.SetTriggerEnabled(t[0], t[1], true)
	}
	day0 := d.start.UTC().Truncate(24 * time.Hour)
	to := func(day int) error {
		target := day0.Add(time.Duration(day)*24*time.Hour + 2*time.Hour)
		if _, err := d.cloud.Advance(ctx, target.Sub(d.cloud.Clock.Now())); err != nil {
			return err
		}
		return d.settle(ctx)
	}
	ruleID := func(group string, port int) string {
		rules, _ := d.cloud.ECS.Rules(group)
		for _, r := range rules {
			if r.Direction == "ingress" && r.PortFrom == port {
				return r.ID
			}
		}
		return ""
	}
	stages := func(id string) []string {
		recs, err := d.conn.ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindAnnouncement}, RuleID: id})
		if err != nil {
			return nil
		}
		slices.SortFunc(recs, func(a, b ledger.Record) int { return a.Time.Compare(b.Time) })
		var out []string
		for _, r := range recs {
			if b, err := r.Announcement(); err == nil {
				out = append(out, b.Stage)
			}
		}
		return slices.Compact(out)
	}
	r443, r8080, r3306, r6379 := ruleID("sg-web", 443), ruleID("sg-web", 8080), ruleID("sg-db", 3306), ruleID("sg-cache", 6379)
	d.say("seed traffic: sg-web 443 every day, 8080 never; sg-db 3306 from day 33; eni-cache-1 (sg-cache) has no flow log; probes of tcp/23 and tcp/3389")
	d.newMessages()

	if err := to(31); err != nil {
		return err
	}
	d.say("day 31: the summary (00:10) and the run (01:00) have 30 covered days behind them")
	d.check(slices.Equal(stages(r8080), []string{ledger.StageAnnounced}), "8080, silent for 30 covered days, is announced, closing in 7 days")
	d.check(len(stages(r443)) == 0, "443, used every day, is not")
	d.check(len(stages(r6379)) == 0, "6379 is not: its ENI has no flow log, so its silence is no evidence")
	var announced []dingtalk.Message
	for _, m := range d.newMessages() {
		if strings.Contains(m.Text, "8080") && len(m.Buttons) == 2 { // keep, close now
			announced = append(announced, m)
		}
	}
	d.check(len(announced) > 0, "the team's robot was told, with keep / close-now buttons")
	d.showMessages(announced, 1)

	if err := to(35); err != nil {
		return err
	}
	d.check(slices.Equal(stages(r3306), []string{ledger.StageAnnounced, ledger.StageCancelled}), "3306, used from day 33, had its announcement cancelled")

	if err := to(38); err != nil {
		return err
	}
	d.check(d.has("sg-web", 8080, "10.0.0.0/16"), "day 38: 8080 is past its date but stays: the shipped policy is notify (enforce closes it)")
	pl, err := reaper.NewPlanner(policy.Default(), reaper.Settings{})
	if err != nil {
		return err
	}
	sum := flowevidence.Summary{Project: d.conn.ledgerProject, Logstore: "flow-summary"}
	rep, err := reaperfn.BuildReport(ctx, d.conn.ecs, d.conn.sls, sum, d.conn.ledger, pl, d.conn.region, d.cloud.Clock.Now(), nil)
	if err != nil {
		return err
	}
	verdicts := map[string]reaper.Verdict{}
	for _, r := range rep.Rules {
		verdicts[r.RuleID] = r.Verdict
	}
	d.say("porthygiene reaper report: 443 %s, 8080 %s, 3306 %s, 6379 %s", verdicts[r443], verdicts[r8080], verdicts[r3306], verdicts[r6379])
	d.check(verdicts[r443] == reaper.Used && verdicts[r8080] == reaper.Announced && verdicts[r3306] == reaper.Used && verdicts[r6379] == reaper.Unknown,
		"the report says used, announced, used, unknown")
	d.summary = append(d.summary, "reaper: 8080 announced on day 31 after 30 silent covered days, 3306 cancelled by its traffic, 6379 unknown (no flow log); notify mode closed nothing")
	return nil
}
