package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"html/template"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/fcwire"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/reaperfn"
)

const reaperNotes = `
The report judges every ingress accept rule as the reaper's daily run would now:
from the daily flow-log summaries of the look-back (written by the reaper's
summary job to the summary logstore, beside the ledger) and the reaper's records
in the ledger. It changes nothing. --json prints the contract
{"generatedAt","lookbackDays","rules":[{"region","securityGroupId","ruleId",
"direction","protocol","portRange","source","verdict","reason","lastSeen",
"announcedAt","closesAt"}]}; verdict is used, unused, unknown, young, exempt,
redundant, announced or closed; times are RFC 3339 or null.
`

// runReaper dispatches `porthygiene reaper <subcommand>`.
func runReaper(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "report" {
		return usagef("usage: porthygiene reaper report [--json] [--html FILE] [--group SG] [--region R] [flags]")
	}
	return runReaperReport(ctx, env, args[1:])
}

func runReaperReport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("reaper report", "[--json] [--html FILE] [--group SG] [--region R] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON (the contract above)")
	htmlPath := fs.String("html", "", "also write a self-contained HTML report to FILE")
	group := fs.String("group", "", "only these groups (comma-separated)")
	summary := fs.String("summary-logstore", "flow-summary", "the reaper's summary logstore (in the ledger's project)")
	lang := fs.String("lang", "en", "language of the HTML report: en or zh")
	withNotes(fs, env.stderr, reaperNotes)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *lang != "en" && *lang != "zh" {
		return usagef("--lang %q: want en or zh", *lang)
	}
	var groups []string
	for g := range strings.SplitSeq(*group, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	conns, err := cf.openRegions(env, true)
	if err != nil {
		return err
	}
	pl, err := reaper.NewPlanner(policy.Default(), reaper.Settings{})
	if err != nil {
		return err
	}
	// On localcloud the report is as of its virtual clock, as the functions' runs are.
	now, err := reportNow(ctx, conns[0].timeURL)
	if err != nil {
		return err
	}
	rep := reaperfn.Report{GeneratedAt: now, LookbackDays: pl.Settings().LookbackDays, Rules: []reaperfn.ReportRule{}}
	var probes []reaperfn.Probe
	for _, c := range conns {
		sum := flowevidence.Summary{Project: c.ledgerProject, Logstore: *summary}
		r, err := reaperfn.BuildReport(ctx, c.ecs, c.sls, sum, c.ledger, pl, c.region, now, groups)
		if err != nil {
			return err
		}
		rep.Rules = append(rep.Rules, r.Rules...)
		from, to := flowevidence.Window(now, rep.LookbackDays)
		p, err := reaperfn.Probes(ctx, c.sls, sum, c.region, from, to, 50)
		if err != nil {
			return err
		}
		probes = append(probes, p...)
	}
	if len(groups) > 0 {
		probes = slices.DeleteFunc(probes, func(p reaperfn.Probe) bool { return !slices.Contains(groups, p.SecurityGroupID) })
	}
	if *htmlPath != "" {
		page, err := renderReaperHTML(rep, probes, *lang)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*htmlPath, page, 0o644); err != nil {
			return fmt.Errorf("--html: %w", err)
		}
	}
	if *asJSON {
		return printJSON(env, rep)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "reaper report at %s (look-back %d days): %d rules\n\n", rep.GeneratedAt.Format(time.RFC3339), rep.LookbackDays, len(rep.Rules))
	fmt.Fprintln(tw, "VERDICT\tREGION\tGROUP\tRULE\tPROTO\tPORTS\tSOURCE\tREASON")
	for _, r := range rep.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Verdict, r.Region, r.SecurityGroupID, r.RuleID, r.Protocol, r.PortRange, r.Source, r.Reason)
	}
	if len(probes) > 0 {
		fmt.Fprintln(tw, "\nREJECTED\tREGION\tGROUP\tPORT\tSOURCE\tFLOWS")
		for _, p := range probes {
			fmt.Fprintf(tw, "probe\t%s\t%s\t%s/%s\t%s\t%d\n", p.Region, p.SecurityGroupID, protoName(p.Protocol), p.Port, p.Source, p.Hits)
		}
	}
	return tw.Flush()
}

// reportNow is the wall clock, or the later reading of a trusted time
// source (localcloud's virtual clock), as the functions decide.
func reportNow(ctx context.Context, timeURL string) (time.Time, error) {
	ts, err := fcwire.NewTimeSource(func(k string) string {
		if k == fcwire.EnvTimeURL {
			return timeURL
		}
		return ""
	})
	if err != nil {
		return time.Time{}, err
	}
	ctx, err = ts.Wall(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("the clock of %s: %w", timeURL, err)
	}
	return clock.Wall(ctx, time.Now).UTC(), nil
}

func protoName(p string) string {
	return cmp.Or(map[string]string{"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp", "1": "icmp"}[p], p)
}

// reaperWords are the HTML report's words, zh and en (the robots' languages).
var reaperWords = map[string]map[string]string{
	"en": {"title": "Port review", "sub": "rules judged from %d days of VPC flow logs", "verdicts": "Verdicts", "rules": "Rules",
		"probes": "Unauthorized access attempts (REJECTed flows)", "none": "none", "verdict": "verdict", "group": "group", "rule": "rule",
		"ports": "ports", "source": "source", "reason": "reason", "last": "last seen", "closes": "closes", "flows": "flows", "port": "port"},
	"zh": {"title": "端口使用情况核查", "sub": "依据 %d 天的 VPC 流日志判定", "verdicts": "判定", "rules": "规则",
		"probes": "发现未授权的端口访问尝试（被拒绝的流量）", "none": "无", "verdict": "判定", "group": "安全组", "rule": "规则",
		"ports": "端口", "source": "来源", "reason": "原因", "last": "最近流量", "closes": "关闭时间", "flows": "流数", "port": "端口"},
}

var verdictColors = map[reaper.Verdict]string{
	reaper.Used: "#27ae60", reaper.Unused: "#e67e22", reaper.Unknown: "#7f8c8d", reaper.Young: "#2e86c1",
	reaper.Exempt: "#6a51a3", reaper.Redundant: "#d4ac0d", reaper.Announced: "#c0392b", reaper.Closed: "#34495e",
}

func renderReaperHTML(rep reaperfn.Report, probes []reaperfn.Probe, lang string) ([]byte, error) {
	w := reaperWords[lang]
	counts := map[reaper.Verdict]int{}
	for _, r := range rep.Rules {
		counts[r.Verdict]++
	}
	var bars []auditCount
	for _, v := range []reaper.Verdict{reaper.Used, reaper.Unused, reaper.Announced, reaper.Closed, reaper.Unknown, reaper.Young, reaper.Exempt, reaper.Redundant} {
		bars = append(bars, auditCount{Name: string(v), Findings: counts[v]})
	}
	chart := newHBarChart(w["verdicts"], w["none"], 520, bars, func(c auditCount) string { return verdictColors[reaper.Verdict(c.Name)] })
	var b bytes.Buffer
	err := reaperTemplate.Execute(&b, map[string]any{"W": w, "Lang": lang, "Rep": rep, "Probes": probes, "Chart": chart,
		"Sub": fmt.Sprintf(w["sub"], rep.LookbackDays), "Generated": rep.GeneratedAt.Format(time.RFC3339)})
	return b.Bytes(), err
}

var reaperTemplate = template.Must(template.New("reaper").Funcs(template.FuncMap{
	"t": func(p *time.Time) string {
		if p == nil {
			return "—"
		}
		return p.Format(time.DateOnly)
	},
	"color": func(v reaper.Verdict) string { return verdictColors[v] },
	"proto": protoName,
}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.W.title}} — {{.Generated}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2d3d; background: #f4f6f8; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 0 0 12px; }
.sub { color: #5d6d7e; margin: 0 0 20px; }
section { background: #fff; border: 1px solid #dde3e9; border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f4; vertical-align: top; }
th { color: #5d6d7e; font-weight: 600; font-size: 12px; text-transform: uppercase; }
.v { color: #fff; border-radius: 3px; padding: 1px 6px; font-size: 12px; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2d3d; } svg .axis { stroke: #aeb6bf; }
.empty { color: #5d6d7e; font-style: italic; }
</style></head><body><main>
<h1>{{.W.title}}</h1><p class="sub">{{.Sub}} · {{.Generated}}</p>
<section><h2>{{.W.verdicts}}</h2>{{with .Chart}}{{if .Bars}}<svg role="img" aria-label="{{.Title}}" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}">
<line class="axis" x1="{{.LabelW}}" x2="{{.LabelW}}" y1="0" y2="{{.Height}}"/>
{{range .Bars}}<g><text x="{{$.LabelW}}" dx="-8" y="{{.TextY}}" text-anchor="end">{{.Label}}</text><rect x="{{$.LabelW}}" y="{{.Y}}" width="{{.W}}" height="20" rx="2" fill="{{.Color}}"/><text x="{{.ValueX}}" y="{{.TextY}}">{{.Value}}</text></g>
{{end}}</svg>{{end}}{{end}}</section>
<section><h2>{{.W.rules}}</h2><table><tr><th>{{.W.verdict}}</th><th>{{.W.group}}</th><th>{{.W.rule}}</th><th>{{.W.ports}}</th><th>{{.W.source}}</th><th>{{.W.last}}</th><th>{{.W.closes}}</th><th>{{.W.reason}}</th></tr>
{{range .Rep.Rules}}<tr><td><span class="v" style="background:{{color .Verdict}}">{{.Verdict}}</span></td><td>{{.SecurityGroupID}}</td><td>{{.RuleID}}</td><td>{{.Protocol}} {{.PortRange}}</td><td>{{.Source}}</td><td>{{t .LastSeen}}</td><td>{{t .ClosesAt}}</td><td>{{.Reason}}</td></tr>
{{end}}</table></section>
<section><h2>{{.W.probes}}</h2>{{if .Probes}}<table><tr><th>{{.W.group}}</th><th>{{.W.port}}</th><th>{{.W.source}}</th><th>{{.W.flows}}</th></tr>
{{range .Probes}}<tr><td>{{.SecurityGroupID}}</td><td>{{proto .Protocol}}/{{.Port}}</td><td>{{.Source}}</td><td>{{.Hits}}</td></tr>
{{end}}</table>{{else}}<p class="empty">{{.W.none}}</p>{{end}}</section>
</main></body></html>
`))
