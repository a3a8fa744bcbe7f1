package main

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/porthygiene/porthygiene/shared/policy"
)

// The HTML report is one self-contained file: inline CSS, inline SVG charts
// laid out here in Go, no script, no external resource, so it can be mailed,
// attached to a ticket or archived as the month's port audit.

// severityColor is the colour of a severity in charts and badges.
func severityColor(s policy.Severity) string {
	switch s {
	case policy.SeverityCritical:
		return "#c0392b"
	case policy.SeverityHigh:
		return "#e67e22"
	case policy.SeverityMedium:
		return "#d4ac0d"
	case policy.SeverityLow:
		return "#2e86c1"
	}
	return "#7f8c8d"
}

const (
	regionColor   = "#2c7fb8"
	ownerColor    = "#6a51a3"
	revokeColor   = "#c0392b"
	restoreColor  = "#27ae60"
	hbarRow       = 28
	hbarThickness = 20
	hbarLabelW    = 150
	hbarValueW    = 44
)

// hbarChart is a horizontal bar chart, one bar per name.
type hbarChart struct {
	Title, Empty  string
	Width, Height int
	LabelW        int
	Bars          []hbar
}

type hbar struct {
	Label, Full, Value string
	Y, W, TextY        int
	ValueX             int
	Color              string
}

func newHBarChart(title, empty string, width int, counts []auditCount, color func(auditCount) string) hbarChart {
	c := hbarChart{Title: title, Empty: empty, Width: width, LabelW: hbarLabelW}
	maxV := 0
	for _, x := range counts {
		maxV = max(maxV, x.Findings)
	}
	area := width - hbarLabelW - hbarValueW
	for i, x := range counts {
		w := 0
		if maxV > 0 {
			w = max(2, area*x.Findings/maxV)
		}
		if x.Findings == 0 {
			w = 0
		}
		y := 6 + i*hbarRow
		value := strconv.Itoa(x.Findings)
		c.Bars = append(c.Bars, hbar{
			Label: truncate(x.Name, 20), Full: fmt.Sprintf("%s: %d findings in %d groups", x.Name, x.Findings, x.Groups), Value: value,
			Y: y, W: w, TextY: y + hbarThickness/2 + 5, ValueX: hbarLabelW + w + 6, Color: color(x),
		})
	}
	c.Height = 12 + len(counts)*hbarRow
	return c
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// trendChart is a vertical, stacked bar chart: revocations and restores per day.
type trendChart struct {
	Width, Height              int
	PlotX, PlotY, PlotW, PlotH int
	Base                       int // y of the x axis
	Bars                       []vbar
	Grid                       []gridLine
	XLabels                    []xLabel
}

type vbar struct {
	X, W         int
	RevY, RevH   int
	RestY, RestH int
	Tip          string
}

type gridLine struct {
	Y, TextY int
	Label    string
}

type xLabel struct {
	X     int
	Label string
}

func newTrendChart(t *auditTrend, width, height int) trendChart {
	c := trendChart{Width: width, Height: height, PlotX: 40, PlotY: 10}
	c.PlotW, c.PlotH = width-c.PlotX-10, height-c.PlotY-30
	c.Base = c.PlotY + c.PlotH
	top := 1
	for _, d := range t.Days {
		top = max(top, d.Revocations+d.Restores)
	}
	// Gridlines on whole numbers, at most five; the scale's top is the last.
	step := (top + 3) / 4
	maxV := step * ((top + step - 1) / step)
	for v := 0; v <= maxV; v += step {
		y := c.PlotY + c.PlotH - c.PlotH*v/maxV
		c.Grid = append(c.Grid, gridLine{Y: y, TextY: y + 4, Label: strconv.Itoa(v)})
	}
	n := max(len(t.Days), 1)
	slot := float64(c.PlotW) / float64(n)
	bw := max(1, int(slot*0.7))
	every := max(1, (n+9)/10) // about ten date labels
	for i, d := range t.Days {
		x := c.PlotX + int(float64(i)*slot+(slot-float64(bw))/2)
		revH := c.PlotH * d.Revocations / maxV
		restH := c.PlotH * d.Restores / maxV
		base := c.PlotY + c.PlotH
		c.Bars = append(c.Bars, vbar{
			X: x, W: bw,
			RevY: base - revH, RevH: revH,
			RestY: base - revH - restH, RestH: restH,
			Tip: fmt.Sprintf("%s: %d revocations, %d restores", d.Date, d.Revocations, d.Restores),
		})
		if i%every == 0 || i == len(t.Days)-1 {
			c.XLabels = append(c.XLabels, xLabel{X: x + bw/2, Label: d.Date[5:]})
		}
	}
	return c
}

// htmlReport is the template's data.
type htmlReport struct {
	*auditReport
	Regions      string
	Generated    string
	Services     hbarChart
	ByRegion     hbarChart
	ByOwner      hbarChart
	Trend        *trendChart
	TrendNote    string
	SeverityKeys []severityKey
	RestoreColor string
	RevokeColor  string
	TrendSince   string
	Revocations  int
	Restores     int
}

type severityKey struct {
	Name, Color string
}

func renderHTMLReport(rep *auditReport, days int, ledgerConfigured bool) ([]byte, error) {
	sevColor := func(c auditCount) string { return severityColor(c.Severity) }
	data := htmlReport{
		auditReport:  rep,
		Regions:      regionNames(rep),
		Generated:    rep.GeneratedAt.Format("2006-01-02 15:04 MST"),
		Services:     newHBarChart("Exposed services", "No sensitive port is open to the internet.", 1040, rep.Totals.ByService, sevColor),
		ByRegion:     newHBarChart("Findings by region", "No findings.", 500, rep.Totals.ByRegion, func(auditCount) string { return regionColor }),
		ByOwner:      newHBarChart("Findings by owner", "No findings.", 500, rep.Totals.ByOwner, func(auditCount) string { return ownerColor }),
		RestoreColor: restoreColor,
		RevokeColor:  revokeColor,
	}
	for _, s := range []policy.Severity{policy.SeverityCritical, policy.SeverityHigh, policy.SeverityMedium, policy.SeverityLow} {
		data.SeverityKeys = append(data.SeverityKeys, severityKey{string(s), severityColor(s)})
	}
	switch {
	case rep.Trend != nil:
		tc := newTrendChart(rep.Trend, 1040, 240)
		data.Trend = &tc
		data.TrendSince = rep.Trend.Since.Format(time.DateOnly)
		data.Revocations, data.Restores = rep.Trend.Revocations, rep.Trend.Restores
	case !ledgerConfigured:
		data.TrendNote = "No ledger configured: pass --ledger-project and --ledger-logstore (or set LEDGER_PROJECT and LEDGER_LOGSTORE) to chart what porthygiene revoked per day."
	default:
		data.TrendNote = fmt.Sprintf("Trend skipped (--days %d).", days)
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render html report: %w", err)
	}
	return buf.Bytes(), nil
}

func writeHTMLReport(path string, rep *auditReport, days int, ledgerConfigured bool) error {
	b, err := renderHTMLReport(rep, days, ledgerConfigured)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"sevColor": func(s policy.Severity) string { return severityColor(s) },
	"ports":    func(f auditFinding) string { return portsText(f.Finding) },
	"services": func(f auditFinding) string { return servicesText(f.Finding) },
	"group":    groupText,
	"exempt":   exemptText,
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Port audit — {{.Regions}} — {{.Generated}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2d3d; background: #f4f6f8; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 12px; }
.sub { color: #5d6d7e; margin: 0 0 20px; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 20px; }
.card, section { background: #fff; border: 1px solid #dde3e9; border-radius: 8px; }
.card { padding: 12px 16px; }
.card .n { font-size: 28px; font-weight: 600; }
.card .l { color: #5d6d7e; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.bad .n { color: #c0392b; }
section { padding: 16px 20px; margin-bottom: 20px; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.two section { margin-bottom: 0; }
.row { margin-bottom: 20px; }
svg { max-width: 100%; height: auto; display: block; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2d3d; }
svg .axis { stroke: #aeb6bf; stroke-width: 1; }
svg .grid { stroke: #e5e8eb; stroke-width: 1; }
.empty { color: #5d6d7e; font-style: italic; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: #5d6d7e; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eceff1; vertical-align: top; }
th { color: #5d6d7e; font-weight: 600; }
td.nw { white-space: nowrap; }
.sev { display: inline-block; color: #fff; border-radius: 4px; padding: 0 6px; font-size: 12px; font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
footer { color: #85929e; font-size: 12px; }
</style>
</head>
<body>
<main>
<h1>Port audit</h1>
<p class="sub">{{.Regions}} · generated {{.Generated}} by <code>porthygiene audit</code> · policy <code>{{.Policy}}</code></p>

<div class="cards">
  <div class="card"><div class="n">{{.Totals.Groups}}</div><div class="l">security groups</div></div>
  <div class="card"><div class="n">{{.Totals.Rules}}</div><div class="l">rules</div></div>
  <div class="card{{if .Totals.Findings}} bad{{end}}"><div class="n">{{.Totals.Findings}}</div><div class="l">findings</div></div>
  <div class="card"><div class="n">{{.Totals.GroupsWithFindings}}</div><div class="l">groups with findings</div></div>
  <div class="card"><div class="n">{{.Totals.Exempted}}</div><div class="l">exempted</div></div>
</div>

<section id="services">
<h2>{{.Services.Title}}</h2>
{{template "hbar" .Services}}
<div class="legend">{{range .SeverityKeys}}<span><i style="background: {{.Color}}"></i>{{.Name}}</span>{{end}}</div>
</section>

<div class="two row">
<section id="regions"><h2>{{.ByRegion.Title}}</h2>{{template "hbar" .ByRegion}}</section>
<section id="owners"><h2>{{.ByOwner.Title}}</h2>{{template "hbar" .ByOwner}}</section>
</div>

<section id="trend">
<h2>Revocations per day{{if .TrendSince}} since {{.TrendSince}}{{end}}</h2>
{{with .Trend}}
<svg role="img" aria-label="revocations per day" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}">
{{range .Grid}}<line class="grid" x1="{{$.Trend.PlotX}}" x2="{{$.Trend.Width}}" y1="{{.Y}}" y2="{{.Y}}"/><text x="{{$.Trend.PlotX}}" dx="-6" y="{{.TextY}}" text-anchor="end">{{.Label}}</text>
{{end}}{{range .Bars}}<g><title>{{.Tip}}</title>{{if .RevH}}<rect x="{{.X}}" y="{{.RevY}}" width="{{.W}}" height="{{.RevH}}" fill="{{$.RevokeColor}}"/>{{end}}{{if .RestH}}<rect x="{{.X}}" y="{{.RestY}}" width="{{.W}}" height="{{.RestH}}" fill="{{$.RestoreColor}}"/>{{end}}</g>
{{end}}<line class="axis" x1="{{.PlotX}}" x2="{{.Width}}" y1="{{.Base}}" y2="{{.Base}}"/>
{{range .XLabels}}<text x="{{.X}}" y="{{$.Trend.Height}}" dy="-8" text-anchor="middle">{{.Label}}</text>
{{end}}</svg>
<div class="legend"><span><i style="background: {{$.RevokeColor}}"></i>revocations ({{$.Revocations}})</span><span><i style="background: {{$.RestoreColor}}"></i>restores ({{$.Restores}})</span></div>
{{else}}<p class="empty">{{.TrendNote}}</p>{{end}}
</section>

<section id="findings">
<h2>Findings ({{len .Findings}})</h2>
{{if .Findings}}<table>
<tr><th>Severity</th><th>Region</th><th>Group</th><th>Rule</th><th>Ports</th><th>Services</th><th>Source</th><th>Owner</th><th>Reason</th></tr>
{{range .Findings}}<tr><td class="nw"><span class="sev" style="background: {{sevColor .Severity}}">{{.Severity}}</span>{{if .Unknown}} uncertain{{end}}</td><td class="nw">{{.Region}}</td><td>{{group .}}</td><td class="nw"><code>{{.RuleID}}</code></td><td>{{ports .}}</td><td>{{services .}}</td><td><code>{{.Source}}</code></td><td>{{or .Owner "—"}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p class="empty">No sensitive port is open to the internet.</p>{{end}}
</section>

{{if .Exempted}}<section id="exempted">
<h2>Exempted ({{len .Exempted}})</h2>
<table>
<tr><th>Region</th><th>Group</th><th>Rule</th><th>Ports</th><th>Source</th><th>Exemption</th></tr>
{{range .Exempted}}<tr><td class="nw">{{.Region}}</td><td>{{group .}}</td><td><code>{{.RuleID}}</code></td><td>{{ports .}}</td><td><code>{{.Source}}</code></td><td>{{exempt .}}</td></tr>
{{end}}</table>
</section>{{end}}

{{if .Warnings}}<section id="warnings"><h2>Warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul></section>{{end}}

<footer>Findings are rules that open sensitive ports to the internet under the policy; exempted ones are listed for review. Owner is the group's <code>{{.OwnerTag}}</code> tag.</footer>
</main>
</body>
</html>
{{define "hbar"}}{{if .Bars}}<svg role="img" aria-label="{{.Title}}" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}">
<line class="axis" x1="{{.LabelW}}" x2="{{.LabelW}}" y1="0" y2="{{.Height}}"/>
{{range .Bars}}<g><title>{{.Full}}</title><text x="{{$.LabelW}}" dx="-8" y="{{.TextY}}" text-anchor="end">{{.Label}}</text><rect x="{{$.LabelW}}" y="{{.Y}}" width="{{.W}}" height="20" rx="2" fill="{{.Color}}"/><text x="{{.ValueX}}" y="{{.TextY}}">{{.Value}}</text></g>
{{end}}</svg>{{else}}<p class="empty">{{.Empty}}</p>{{end}}{{end}}`
