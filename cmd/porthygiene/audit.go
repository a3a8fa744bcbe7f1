package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/policy"
)

// auditReport is what `audit --json` prints and what the text, Markdown and
// HTML forms render.
type auditReport struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Policy      string    `json:"policy"`
	// OwnerTag is the group tag read as the owner (default "team").
	OwnerTag string `json:"ownerTag"`
	// Regions are the regions swept, with what was read in each.
	Regions []auditRegion `json:"regions"`
	// Findings are the exposures nothing exempts, most severe first.
	Findings []auditFinding `json:"findings"`
	// Exempted are exposures an active exemption covers.
	Exempted []auditFinding `json:"exempted"`
	Totals   auditTotals    `json:"totals"`
	// Trend is the ledger's history; null when no ledger is configured (or
	// --days 0).
	Trend *auditTrend `json:"trend"`
	// Warnings are things that make the report less certain (an unresolved
	// prefix list: its rules are reported as unknown, never as safe).
	Warnings []string `json:"warnings"`
}

type auditRegion struct {
	Region string `json:"region"`
	Groups int    `json:"groups"`
	Rules  int    `json:"rules"`
}

// auditFinding is an exposure.Finding with where it is and who owns it.
type auditFinding struct {
	Region    string `json:"region"`
	GroupName string `json:"securityGroupName"`
	// Owner is the value of the group's owner tag; empty when untagged.
	Owner string `json:"owner"`
	exposure.Finding
}

type auditTotals struct {
	Groups             int `json:"groups"`
	Rules              int `json:"rules"`
	Findings           int `json:"findings"`
	Exempted           int `json:"exempted"`
	GroupsWithFindings int `json:"groupsWithFindings"`
	// BySeverity, ByService, ByRegion and ByOwner count findings (rules) and
	// the distinct groups they are in. A finding counts once for each service
	// it exposes; ports that are neither sensitive nor allowed count as
	// "other ports". ByRegion lists every region swept.
	BySeverity []auditCount `json:"bySeverity"`
	ByService  []auditCount `json:"byService"`
	ByRegion   []auditCount `json:"byRegion"`
	ByOwner    []auditCount `json:"byOwner"`
}

type auditCount struct {
	Name     string `json:"name"`
	Findings int    `json:"findings"`
	Groups   int    `json:"groups"`
	// Severity is the worst severity among the counted exposures.
	Severity policy.Severity `json:"severity,omitempty"`
}

// auditTrend is what porthygiene did, per UTC day, from the ledger.
type auditTrend struct {
	Since       time.Time  `json:"since"`
	Days        []auditDay `json:"days"` // every day of the window, oldest first
	Revocations int        `json:"revocations"`
	Restores    int        `json:"restores"`
}

type auditDay struct {
	Date        string `json:"date"` // YYYY-MM-DD
	Revocations int    `json:"revocations"`
	Restores    int    `json:"restores"`
}

const (
	otherPortsService = "other ports"
	noOwner           = "(no owner tag)"
	auditWorkers      = 4
)

const auditNotes = `
Credentials: --endpoints (localcloud), else ALIBABA_CLOUD_ACCESS_KEY_ID /
ALIBABA_CLOUD_ACCESS_KEY_SECRET (/ ALIBABA_CLOUD_SECURITY_TOKEN), else the
aliyun CLI's current profile in ~/.aliyun/config.json (mode AK or StsToken;
ALIBABA_CLOUD_PROFILE picks another). The audit only reads: it changes nothing.

Exit codes: 0 the report was produced, whatever it found (findings are not an
error: the audit is a report); 1 a cloud call failed (no partial report is
printed: a report with a hole could look clean); 2 bad usage or input.
`

func runAudit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("audit", "[--region R[,R...]] [--json | --markdown] [--html FILE] [--policy FILE] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	fs.Lookup("region").Usage = "regions to sweep, comma-separated (default ALIBABA_CLOUD_REGION_ID, the profile's region, or localcloud's)"
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asMarkdown := fs.Bool("markdown", false, "print the report as Markdown")
	htmlPath := fs.String("html", "", "also write the report as one self-contained HTML file with charts to FILE")
	policyPath := fs.String("policy", "", "policy file (default: the built-in policy)")
	ownerTag := fs.String("owner-tag", "team", "the security-group tag that names a group's owner")
	days := fs.Int("days", 30, "days of ledger history for the trend (0: no trend; needs a ledger)")
	progress := fs.String("progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	withNotes(fs, env.stderr, auditNotes)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *asJSON && *asMarkdown {
		return usagef("--json and --markdown: choose one")
	}
	if *days < 0 || *days > 366 {
		return usagef("--days %d: want 0 to 366", *days)
	}
	if strings.TrimSpace(*ownerTag) == "" {
		return usagef("--owner-tag must not be empty")
	}
	var showProgress bool
	switch *progress {
	case "auto":
		showProgress = isTerminal(env.stderr)
	case "always":
		showProgress = true
	case "never":
	default:
		return usagef("--progress %q: want auto, always or never", *progress)
	}
	if *htmlPath != "" {
		if st, err := os.Stat(filepath.Dir(*htmlPath)); err != nil || !st.IsDir() {
			return usagef("--html %s: no such directory %s", *htmlPath, filepath.Dir(*htmlPath))
		}
	}
	pol := policy.Default()
	if *policyPath != "" {
		var err error
		if pol, err = policy.Load(*policyPath); err != nil {
			return usageError{err}
		}
	}
	ev, err := exposure.New(pol)
	if err != nil {
		return usageError{err}
	}
	conns, err := cf.openRegions(env, false)
	if err != nil {
		return err
	}

	a := &auditor{ev: ev, pol: pol, ownerTag: *ownerTag, now: time.Now().UTC().Truncate(time.Second), bar: newProgressBar(env.stderr, showProgress)}
	rep, err := a.run(ctx, conns)
	a.bar.finish()
	if err != nil {
		return err
	}
	if *days > 0 && conns[0].ledger != nil {
		if rep.Trend, err = ledgerTrend(ctx, conns[0].ledger, a.now, *days); err != nil {
			return fmt.Errorf("read the ledger for the trend (--days 0 skips it): %w", err)
		}
	}

	if *htmlPath != "" {
		if err := writeHTMLReport(*htmlPath, rep, *days, conns[0].ledger != nil); err != nil {
			return err
		}
	}
	switch {
	case *asJSON:
		return printJSON(env, rep)
	case *asMarkdown:
		return writeMarkdown(env.stdout, rep)
	}
	if err := writeAuditText(env.stdout, rep); err != nil {
		return err
	}
	if *htmlPath != "" {
		fmt.Fprintf(env.stdout, "\nHTML report: %s\n", *htmlPath)
	}
	return nil
}

// forEach calls fn(ctx, i) for every i in [0, n) on up to workers goroutines
// and returns the first error; once one call fails, no new call starts and
// the context the others see is cancelled.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				if errs[i] = fn(inner, i); errs[i] != nil {
					cancel()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-inner.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// The first real error, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// withNotes appends text after the flag list of fs's usage.
func withNotes(fs *flag.FlagSet, w io.Writer, notes string) {
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		io.WriteString(w, notes)
	}
}

// auditor sweeps the groups of some regions.
type auditor struct {
	ev       *exposure.Evaluator
	pol      *policy.Policy
	ownerTag string
	now      time.Time
	bar      *progressBar

	mu       sync.Mutex
	warnings []string
}

type groupJob struct {
	c *conn
	g ecsapi.Group
}

type groupResult struct {
	rules int
	rep   exposure.Report
	gone  bool
}

func (a *auditor) run(ctx context.Context, conns []*conn) (*auditReport, error) {
	rep := &auditReport{GeneratedAt: a.now, Policy: a.pol.Name(), OwnerTag: a.ownerTag,
		Findings: []auditFinding{}, Exempted: []auditFinding{}, Warnings: []string{}}
	var jobs []groupJob
	for _, c := range conns {
		a.bar.label("listing groups in " + c.region)
		groups, err := c.ecs.ListGroups(ctx, ecsapi.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("region %s: %w", c.region, err)
		}
		for _, g := range groups {
			jobs = append(jobs, groupJob{c, g})
		}
	}
	a.bar.setTotal(len(jobs))

	results := make([]groupResult, len(jobs))
	// One observer per region: the guard's reader of groups, with each
	// prefix list read once per audit and the owners' decisions read once.
	observers := map[string]*observe.Observer{}
	for _, c := range conns {
		var led observe.Records
		if c.ledger != nil {
			led = c.ledger
		}
		o := observe.New(observe.Options{Ledger: led, Now: a.now, CachePrefixLists: true, Logger: slog.New(slog.DiscardHandler)})
		if err := o.PreloadDecisions(ctx); err != nil && c.ledger != nil {
			a.warn(fmt.Sprintf("%s: owners' decisions not read (%v); rules they keep open are reported", c.region, err))
		}
		observers[c.region] = o
	}
	err := forEach(ctx, len(jobs), auditWorkers, func(ctx context.Context, i int) error {
		j := jobs[i]
		var err error
		results[i], err = a.group(ctx, j, observers[j.c.region])
		a.bar.step(j.c.region + " " + j.g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}

	perRegion := map[string]*auditRegion{}
	for _, c := range conns {
		rep.Regions = append(rep.Regions, auditRegion{Region: c.region})
	}
	for i := range rep.Regions {
		perRegion[rep.Regions[i].Region] = &rep.Regions[i]
	}
	for i, j := range jobs {
		res := results[i]
		if res.gone {
			continue
		}
		r := perRegion[j.c.region]
		r.Groups++
		r.Rules += res.rules
		wrap := func(f exposure.Finding) auditFinding {
			return auditFinding{Region: j.c.region, GroupName: j.g.Name, Owner: j.g.Tags[a.ownerTag], Finding: f}
		}
		for _, f := range res.rep.Findings {
			rep.Findings = append(rep.Findings, wrap(f))
		}
		for _, f := range res.rep.Exempted {
			rep.Exempted = append(rep.Exempted, wrap(f))
		}
	}
	bySeverity := func(x, y auditFinding) int { return cmp.Compare(y.Severity.Rank(), x.Severity.Rank()) }
	slices.SortStableFunc(rep.Findings, bySeverity)
	rep.Warnings = append(rep.Warnings, a.warnings...)
	slices.Sort(rep.Warnings)
	rep.Totals = a.totals(rep)
	return rep, nil
}

// group reads and judges one security group, through the guard's observer:
// rules, prefix lists, the listing's tags and the owners' decisions.
func (a *auditor) group(ctx context.Context, j groupJob, obs *observe.Observer) (groupResult, error) {
	tags := j.g.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	st, err := obs.Observe(ctx, j.c.ecs, observe.Target{Region: j.c.region, GroupID: j.g.ID, Tags: tags})
	if errors.Is(err, cloud.ErrNotFound) {
		return groupResult{gone: true}, nil // deleted since it was listed
	}
	if err != nil {
		return groupResult{}, fmt.Errorf("region %s: %w", j.c.region, err)
	}
	if ctx.Err() != nil {
		return groupResult{}, ctx.Err()
	}
	for id := range st.Unresolved {
		a.warn(fmt.Sprintf("%s: prefix list %s could not be read; rules on it are reported as unknown", j.c.region, id))
	}
	return groupResult{rules: len(st.Rules), rep: a.ev.Evaluate(st.Input(a.now))}, nil
}

func (a *auditor) warn(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Contains(a.warnings, s) {
		a.warnings = append(a.warnings, s)
	}
}

// totals counts the findings by severity, service, region and owner.
func (a *auditor) totals(rep *auditReport) auditTotals {
	t := auditTotals{Findings: len(rep.Findings), Exempted: len(rep.Exempted)}
	for _, r := range rep.Regions {
		t.Groups += r.Groups
		t.Rules += r.Rules
	}
	type acc struct {
		findings int
		groups   map[string]bool
		sev      policy.Severity
	}
	tally := func(m map[string]*acc, name, group string, sev policy.Severity) {
		x := m[name]
		if x == nil {
			x = &acc{groups: map[string]bool{}}
			m[name] = x
		}
		x.findings++
		x.groups[group] = true
		if sev.Rank() > x.sev.Rank() {
			x.sev = sev
		}
	}
	bySev, bySvc, byRegion, byOwner := map[string]*acc{}, map[string]*acc{}, map[string]*acc{}, map[string]*acc{}
	groups := map[string]bool{}
	for _, f := range rep.Findings {
		groups[f.GroupID] = true
		tally(bySev, string(f.Severity), f.GroupID, f.Severity)
		tally(byRegion, f.Region, f.GroupID, f.Severity)
		tally(byOwner, cmp.Or(f.Owner, noOwner), f.GroupID, f.Severity)
		seen := map[string]bool{}
		for _, x := range f.Exposed {
			if !seen[x.Service] {
				seen[x.Service] = true
				tally(bySvc, x.Service, f.GroupID, x.Severity)
			}
		}
		if len(f.OtherPorts) > 0 {
			tally(bySvc, otherPortsService, f.GroupID, a.pol.OtherPorts)
		}
	}
	t.GroupsWithFindings = len(groups)
	list := func(m map[string]*acc) []auditCount {
		out := []auditCount{}
		for name, x := range m {
			out = append(out, auditCount{Name: name, Findings: x.findings, Groups: len(x.groups), Severity: x.sev})
		}
		slices.SortFunc(out, func(a, b auditCount) int {
			return cmp.Or(cmp.Compare(b.Findings, a.Findings), cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), cmp.Compare(a.Name, b.Name))
		})
		return out
	}
	t.BySeverity = list(bySev)
	slices.SortFunc(t.BySeverity, func(a, b auditCount) int { return cmp.Compare(b.Severity.Rank(), a.Severity.Rank()) })
	t.ByService = list(bySvc)
	t.ByOwner = list(byOwner)
	for _, r := range rep.Regions {
		if _, ok := byRegion[r.Region]; !ok {
			byRegion[r.Region] = &acc{groups: map[string]bool{}}
		}
	}
	t.ByRegion = list(byRegion)
	return t
}

// ledgerTrend counts revocations and restores per UTC day over the last days.
func ledgerTrend(ctx context.Context, l *ledger.Ledger, now time.Time, days int) (*auditTrend, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(days - 1))
	recs, err := l.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation, ledger.KindRestore}, Since: since})
	if err != nil {
		return nil, err
	}
	tr := &auditTrend{Since: since}
	index := map[string]int{}
	for d := range days {
		date := since.AddDate(0, 0, d).Format(time.DateOnly)
		index[date] = d
		tr.Days = append(tr.Days, auditDay{Date: date})
	}
	for _, r := range recs {
		i, ok := index[r.Time.UTC().Format(time.DateOnly)]
		if !ok {
			continue // after today: a clock ahead of ours
		}
		switch r.Kind {
		case ledger.KindRevocation:
			tr.Days[i].Revocations++
			tr.Revocations++
		case ledger.KindRestore:
			tr.Days[i].Restores++
			tr.Restores++
		}
	}
	return tr, nil
}

// portsText renders what a finding exposes: "tcp/3389", "tcp/1-21 (other)".
func portsText(f exposure.Finding) string {
	var parts []string
	for _, x := range f.Exposed {
		parts = append(parts, string(x.Protocol)+"/"+strconv.Itoa(x.Port))
	}
	if len(f.OtherPorts) > 0 {
		var spans []string
		for _, s := range f.OtherPorts {
			spans = append(spans, string(s.Protocol)+"/"+s.String())
		}
		const most = 3
		if len(spans) > most {
			spans = append(spans[:most], fmt.Sprintf("+%d more", len(f.OtherPorts)-most))
		}
		parts = append(parts, "other: "+strings.Join(spans, ","))
	}
	if len(parts) == 0 {
		return string(f.Protocol) + " " + f.PortRange
	}
	return strings.Join(parts, " ")
}

func servicesText(f exposure.Finding) string {
	s := slices.Clone(f.Services)
	if len(f.OtherPorts) > 0 {
		s = append(s, otherPortsService)
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func groupText(f auditFinding) string {
	if f.GroupName == "" || f.GroupName == f.GroupID {
		return f.GroupID
	}
	return f.GroupID + " (" + f.GroupName + ")"
}

func exemptText(f auditFinding) string {
	if f.Exempt == nil {
		return ""
	}
	s := fmt.Sprintf("%s: owner %s until %s", f.Exempt.Source, f.Exempt.Owner, f.Exempt.UntilString())
	if f.Exempt.Reason != "" {
		s += " (" + f.Exempt.Reason + ")"
	}
	return s
}

func regionNames(rep *auditReport) string {
	var names []string
	for _, r := range rep.Regions {
		names = append(names, r.Region)
	}
	return strings.Join(names, ", ")
}

func countsText(cs []auditCount) string {
	if len(cs) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Findings))
	}
	return strings.Join(parts, ", ")
}

func writeAuditText(w io.Writer, rep *auditReport) error {
	t := rep.Totals
	fmt.Fprintf(w, "porthygiene audit of %s at %s (policy %s)\n", regionNames(rep), rep.GeneratedAt.Format(time.RFC3339), rep.Policy)
	fmt.Fprintf(w, "%d groups, %d rules: %d findings in %d groups, %d exempted\n", t.Groups, t.Rules, t.Findings, t.GroupsWithFindings, t.Exempted)
	if len(rep.Findings) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tREGION\tGROUP\tRULE\tPORTS\tSERVICES\tSOURCE\tOWNER")
		for _, f := range rep.Findings {
			sev := string(f.Severity)
			if f.Unknown {
				sev += "?"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sev, f.Region, groupText(f), f.RuleID, portsText(f.Finding),
				servicesText(f.Finding), f.Source, cmp.Or(f.Owner, "-"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "by severity: %s\n", countsText(t.BySeverity))
	fmt.Fprintf(w, "by service:  %s\n", countsText(t.ByService))
	fmt.Fprintf(w, "by region:   %s\n", countsText(t.ByRegion))
	fmt.Fprintf(w, "by owner:    %s\n", countsText(t.ByOwner))
	if len(rep.Exempted) > 0 {
		fmt.Fprintln(w, "\nexempted:")
		for _, f := range rep.Exempted {
			fmt.Fprintf(w, "  %s %s %s from %s — %s\n", groupText(f), f.RuleID, portsText(f.Finding), f.Source, exemptText(f))
		}
	}
	if rep.Trend != nil {
		fmt.Fprintf(w, "\nledger, since %s: %d revocations, %d restores\n", rep.Trend.Since.Format(time.DateOnly), rep.Trend.Revocations, rep.Trend.Restores)
	}
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, f := range rep.Findings {
		if f.Unknown {
			fmt.Fprintln(w, "\n? = uncertain: a prefix list could not be resolved, so the rule may expose less than reported.")
			break
		}
	}
	return nil
}

// mdCell escapes a Markdown table cell.
func mdCell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func writeMarkdown(w io.Writer, rep *auditReport) error {
	t := rep.Totals
	fmt.Fprintf(w, "# Port audit: %s\n\n", regionNames(rep))
	fmt.Fprintf(w, "Generated %s by `porthygiene audit` with policy `%s`.\n\n", rep.GeneratedAt.Format(time.RFC3339), rep.Policy)
	fmt.Fprintf(w, "- Security groups: %d (%d rules)\n- Findings: **%d** in %d groups\n- Exempted: %d\n\n",
		t.Groups, t.Rules, t.Findings, t.GroupsWithFindings, t.Exempted)
	fmt.Fprintln(w, "## Findings")
	fmt.Fprintln(w)
	if len(rep.Findings) == 0 {
		fmt.Fprintln(w, "No sensitive port is open to the internet.")
	} else {
		fmt.Fprintln(w, "| Severity | Region | Group | Rule | Ports | Services | Source | Owner | Reason |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
		for _, f := range rep.Findings {
			sev := string(f.Severity)
			if f.Unknown {
				sev += " (uncertain)"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(sev), mdCell(f.Region), mdCell(groupText(f)),
				mdCell(f.RuleID), mdCell(portsText(f.Finding)), mdCell(servicesText(f.Finding)), mdCell(f.Source), mdCell(f.Owner), mdCell(f.Reason))
		}
	}
	for _, sec := range []struct {
		title string
		cs    []auditCount
	}{{"By service", t.ByService}, {"By region", t.ByRegion}, {"By owner", t.ByOwner}} {
		fmt.Fprintf(w, "\n## %s\n\n| Name | Findings | Groups | Worst severity |\n|---|---:|---:|---|\n", sec.title)
		for _, c := range sec.cs {
			fmt.Fprintf(w, "| %s | %d | %d | %s |\n", mdCell(c.Name), c.Findings, c.Groups, mdCell(string(c.Severity)))
		}
	}
	if len(rep.Exempted) > 0 {
		fmt.Fprintln(w, "\n## Exempted\n\n| Region | Group | Rule | Ports | Source | Exemption |\n|---|---|---|---|---|---|")
		for _, f := range rep.Exempted {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", mdCell(f.Region), mdCell(groupText(f)), mdCell(f.RuleID),
				mdCell(portsText(f.Finding)), mdCell(f.Source), mdCell(exemptText(f)))
		}
	}
	fmt.Fprintln(w, "\n## Trend")
	fmt.Fprintln(w)
	if rep.Trend == nil {
		fmt.Fprintln(w, "No ledger configured (or --days 0): no history of revocations.")
	} else {
		fmt.Fprintf(w, "Since %s: %d revocations, %d restores.\n", rep.Trend.Since.Format(time.DateOnly), rep.Trend.Revocations, rep.Trend.Restores)
		if rep.Trend.Revocations+rep.Trend.Restores > 0 {
			fmt.Fprintln(w, "\n| Day | Revocations | Restores |\n|---|---:|---:|")
			for _, d := range rep.Trend.Days {
				if d.Revocations+d.Restores > 0 {
					fmt.Fprintf(w, "| %s | %d | %d |\n", d.Date, d.Revocations, d.Restores)
				}
			}
		}
	}
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(w, "\n## Warnings")
		fmt.Fprintln(w)
		for _, s := range rep.Warnings {
			fmt.Fprintf(w, "- %s\n", s)
		}
	}
	return nil
}
