package chaos

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/rule"
)

type row struct {
	n      int
	what   string
	ok     bool
	detail string
}

type report struct {
	seed  uint64
	rows  []row
	extra []string
}

func (r *report) check(n int, what string, problems []string, detail string) {
	ok := len(problems) == 0
	if !ok {
		sort.Strings(problems)
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("… and %d more", len(problems)-8))
		}
		detail = strings.Join(problems, "; ")
	}
	r.rows = append(r.rows, row{n: n, what: what, ok: ok, detail: detail})
}

// permKey is a ledger permission's model key.
func permKey(group string, p rule.Permission) string {
	peer := p.SourceCidrIp + p.Ipv6SourceCidrIp + p.SourcePrefixListId
	if p.Direction == "egress" {
		peer = p.DestCidrIp + p.Ipv6DestCidrIp + p.DestPrefixListId
	}
	return ruleKey(group, p.Direction, p.IpProtocol, p.PortRange, peer, p.Policy, p.Priority)
}

func (w *world) query(kinds ...ledger.Kind) []ledger.Record {
	recs, err := w.led.Query(w.t.Context(), ledger.Filter{Kinds: kinds})
	if err != nil {
		w.t.Fatalf("ledger: %v", err)
	}
	return recs
}

func (w *world) invariants(rep *report, recoveredAt time.Time) {
	byKey := map[string]*model{}
	for _, m := range w.rules {
		if m.group != "" {
			byKey[m.key()] = m
		}
	}
	// The guard's revocations (the replicator's, of rules its primary no
	// longer has, are replication: invariant 5 judges them).
	var revs []ledger.Record
	for _, r := range w.query(ledger.KindRevocation) {
		if r.Function == "guard" {
			revs = append(revs, r)
		}
	}
	revByKey := map[string][]ledger.Record{}
	revBody := map[string]ledger.Revocation{}
	for _, r := range revs {
		b, err := r.Revocation()
		if err != nil {
			w.t.Fatalf("revocation %s: %v", r.ID, err)
		}
		revBody[r.ID] = b
		k := permKey(r.GroupID, b.Rule)
		revByKey[k] = append(revByKey[k], r)
	}
	failedTold := map[string]bool{}
	for _, f := range w.query(ledger.KindFinding) {
		b, err := f.Finding()
		if err == nil && strings.HasPrefix(b.Action, "revoke failed") {
			failedTold[permKey(f.GroupID, b.Rule)] = true
		}
	}

	// 1. No exposure survives its event's invocation (plus the pace), and
	// none survives the next sweep.
	state := w.state()
	var p1 []string
	late, bySource := 0, map[string]int{}
	for _, m := range w.rules {
		if !m.exposing || m.group == "" {
			continue
		}
		k := m.key()
		if state[k] {
			p1 = append(p1, "still open after the next sweep: "+k)
			continue
		}
		for _, r := range revByKey[k] {
			bySource[revBody[r.ID].Event.Source]++
		}
		if m.openedAt < 0 && m.openedAt != noEvent {
			late++
			if !failedTold[k] {
				p1 = append(p1, "open after its event was handled, and no failure was told: "+k)
			}
		}
	}
	rep.check(1, "no exposure outlives its event's invocation (failures told), none outlives the next sweep", p1,
		fmt.Sprintf("%d exposures closed: %s; %d needed a later run after a told failure", countExposing(w.rules), sourceList(bySource), late))

	// 2. No rule the policy allows was revoked.
	var p2 []string
	for k, rs := range revByKey {
		m := byKey[k]
		switch {
		case m == nil:
			p2 = append(p2, "revoked a rule the script never wrote: "+k)
		case !m.exposing:
			p2 = append(p2, fmt.Sprintf("revoked an allowed rule (%s): %s", m.kind, k))
		}
		_ = rs
	}
	// The reaper runs in the shipped policy's notify mode: it closes nothing.
	for _, c := range w.query(ledger.KindClosure) {
		p2 = append(p2, fmt.Sprintf("the reaper closed %s/%s in notify mode", c.GroupID, c.RuleID))
	}
	kept := 0
	for _, m := range w.rules {
		if m.group == "" || m.exposing || m.revokedByHuman {
			continue
		}
		if !state[m.key()] {
			p2 = append(p2, fmt.Sprintf("an allowed rule (%s) is gone: %s", m.kind, m.key()))
		}
		kept++
	}
	rep.check(2, "no rule the policy allows was revoked", p2, fmt.Sprintf("%d allowed rules (harmless, exempt, hidden) all in place", kept))

	// 5. Every replica equals its primary after the next reconcile (the
	// clock went an hour past the script: six reconciles), checked before
	// the restores of invariant 3 bring exposures back with exemptions, which
	// are then copied with them, and no replica
	// ever holds an exposure of the primary.
	var p5 []string
	inStep, replicas := w.replicasInStep(&p5)
	rep.check(5, "every replica equals its primary after the next reconcile; no exposure copied", p5,
		fmt.Sprintf("%d replicas of %d sets in step (porthygiene replicate plan: nothing to add or remove)", replicas, inStep))

	// 3. Exactly one revocation record per revoked rule, each naming its
	// backup; restoring them all gives back exactly the rules removed.
	var p3 []string
	backups := map[string]bool{}
	for _, b := range w.query(ledger.KindBackup) {
		backups[b.ID] = true
	}
	for k, rs := range revByKey {
		if len(rs) != 1 {
			p3 = append(p3, fmt.Sprintf("%d revocation records for %s", len(rs), k))
		}
		for _, r := range rs {
			if b := revBody[r.ID]; b.BackupID == "" || !backups[b.BackupID] {
				p3 = append(p3, fmt.Sprintf("revocation %s names no backup the ledger holds (%q)", r.ID, b.BackupID))
			}
		}
	}
	for _, m := range w.rules {
		if m.exposing && m.group != "" && !state[m.key()] && len(revByKey[m.key()]) == 0 {
			p3 = append(p3, "revoked with no revocation record: "+m.key())
		}
	}
	restored := w.restoreAll(revs, &p3)
	after := w.state()
	for _, m := range w.rules {
		if m.group == "" || m.revokedByHuman {
			continue
		}
		if !after[m.key()] {
			p3 = append(p3, "not back after restoring every revocation: "+m.key())
		}
	}
	for k := range after {
		if m := byKey[k]; (m == nil || m.revokedByHuman) && strings.Contains(k, " ") && w.isOurs(k) {
			p3 = append(p3, "after restoring, a rule that was not removed by porthygiene: "+k)
		}
	}
	rep.check(3, "one revocation record with its backup per revoked rule; restoring all gives back exactly what was removed", p3,
		fmt.Sprintf("%d revocations, %d restored with `porthygiene restore`", len(revs), restored))

	// 4. Every revocation reached DingTalk once, no 130101, none later than
	// five minutes after the robot came back.
	var p4 []string
	msgs := w.c.DingTalk.Messages("")
	for _, r := range revs {
		n := 0
		var last time.Time
		var lines []string
		for _, m := range msgs {
			if strings.Contains(m.Text, r.RuleID) {
				n++
				last = m.Time
				for _, l := range strings.Split(m.Text, "\n") {
					if strings.Contains(l, r.RuleID) {
						lines = append(lines, m.Time.Format(time.TimeOnly)+" "+m.Title+": "+l)
					}
				}
			}
		}
		k := permKey(r.GroupID, revBody[r.ID].Rule)
		switch {
		case n == 0:
			p4 = append(p4, "revocation of "+r.RuleID+" never reached DingTalk")
		case n > 1 && !failedTold[k]:
			p4 = append(p4, fmt.Sprintf("revocation of %s shown %d times (%s)", r.RuleID, n, strings.Join(lines, " | ")))
		}
		if r.Time.Before(recoveredAt) && last.After(recoveredAt.Add(5*time.Minute)) {
			p4 = append(p4, fmt.Sprintf("revocation of %s reached DingTalk at %s, more than 5 minutes after the robot came back at %s", r.RuleID, last.Format(time.TimeOnly), recoveredAt.Format(time.TimeOnly)))
		}
	}
	refused := 0
	for _, a := range w.c.DingTalk.Attempts() {
		if a.ErrCode == 130101 {
			refused++
		}
	}
	if refused > 0 {
		p4 = append(p4, fmt.Sprintf("%d messages refused with 130101 (too fast)", refused))
	}
	rep.check(4, "every revocation reached DingTalk, once, no 130101, none > 5 min after the robot came back", p4,
		fmt.Sprintf("%d messages, %d attempts", len(msgs), len(w.c.DingTalk.Attempts())))

	// 6. No panic, no unhandled error, no secret anywhere.
	var p6 []string
	secrets := w.secrets()
	logs := map[string]string{}
	for _, fn := range []string{"porthygiene-guard", "porthygiene-approve", "porthygiene-reaper"} {
		logs[fn] = w.c.Runtime.Logs(fn)
	}
	for fn, l := range logs {
		for _, bad := range []string{"panic:", "fatal error:", "goroutine "} {
			if strings.Contains(l, bad) {
				p6 = append(p6, fmt.Sprintf("%s logged %q", fn, bad))
			}
		}
	}
	statuses := map[string]int{}
	killed := 0
	for _, inv := range w.c.Runtime.Invocations() {
		statuses[inv.Function+" "+string(inv.Status)]++
		if inv.Status == fcrt.StatusTimeout {
			if inv.Function == "porthygiene-guard" && killed == 0 && w.killedAfter > 0 {
				killed++ // the one the script killed
				rep.extra = append(rep.extra, fmt.Sprintf("killed: a %s invocation (%s) cut off %v into its run", inv.Function, cmpOr(inv.Trigger, "async"), w.killedAfter))
				continue
			}
			p6 = append(p6, fmt.Sprintf("%s timed out (%s)", inv.Function, inv.Trigger))
		}
		if strings.Contains(inv.Response, "runtime error") || strings.Contains(strings.ToLower(inv.Error), "panic") {
			p6 = append(p6, fmt.Sprintf("%s: %s", inv.Function, inv.Response))
		}
	}
	if w.killedAfter > 0 && killed == 0 {
		rep.extra = append(rep.extra, fmt.Sprintf("killed: none — no guard invocation ran longer than the cut-off (%v)", w.killedAfter))
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, string(m.Raw))
	}
	all, err := w.led.Query(w.t.Context(), ledger.Filter{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range all {
		b, _ := json.Marshal(r)
		texts = append(texts, string(b))
	}
	for _, s := range secrets {
		for fn, l := range logs {
			if strings.Contains(l, s) {
				p6 = append(p6, fmt.Sprintf("a secret (%s…) in the logs of %s", s[:4], fn))
			}
		}
		for _, t := range texts {
			if strings.Contains(t, s) {
				p6 = append(p6, fmt.Sprintf("a secret (%s…) in a message or ledger record", s[:4]))
				break
			}
		}
	}
	rep.check(6, "no panic, no unhandled error, no secret in any log line, message or ledger record", p6,
		fmt.Sprintf("%d secrets looked for in %d log bytes, %d messages and %d ledger records; invocations %s",
			len(secrets), len(logs["porthygiene-guard"])+len(logs["porthygiene-approve"])+len(logs["porthygiene-reaper"]), len(msgs), len(all), mapList(statuses)))

	if len(w.errs) > 0 {
		rep.extra = append(rep.extra, "script notes: "+strings.Join(w.errs, "; "))
	}
}

// replicasInStep asks `porthygiene replicate plan --json` what a reconcile
// would change: nothing, for every replica, and no replica may hold a rule
// open to the world on a port the guard closes.
func (w *world) replicasInStep(problems *[]string) (sets, replicas int) {
	bin := cli(w.t)
	cmd := exec.Command(bin, "replicate", "plan", "--json", "--endpoints", endpointsFile(w.t, w.c), "--region", "cn-hangzhou,cn-shanghai")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + w.t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("replicate plan: %v", err))
		return 0, 0
	}
	var plan struct {
		Sets []struct {
			Name     string `json:"name"`
			Replicas []struct {
				Region  string            `json:"region"`
				Group   string            `json:"securityGroupId"`
				Add     []json.RawMessage `json:"add"`
				Remove  []json.RawMessage `json:"remove"`
				Skipped []json.RawMessage `json:"skipped"`
			} `json:"replicas"`
		} `json:"sets"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		*problems = append(*problems, fmt.Sprintf("replicate plan --json: %v", err))
		return 0, 0
	}
	for _, s := range plan.Sets {
		for _, r := range s.Replicas {
			replicas++
			if len(r.Add)+len(r.Remove) > 0 {
				*problems = append(*problems, fmt.Sprintf("set %s: %s/%s out of step: %d to add, %d to remove", s.Name, r.Region, r.Group, len(r.Add), len(r.Remove)))
			}
		}
	}
	if len(plan.Sets) == 0 {
		*problems = append(*problems, "no replication set found")
	}
	// No replica holds an exposure the script opened on its primary (the
	// replica in the same region is read; cn-shanghai's is in the plan).
	dr := w.stateOf(map[string]bool{"sg-web-dr": true})
	for _, m := range w.rules {
		if m.group != "sg-web" || !m.exposing {
			continue
		}
		for _, rg := range []string{"sg-web-dr"} {
			if dr[ruleKey(rg, m.direction, m.proto, m.ports, m.cidr+m.cidr6+m.pl, m.policy, fmt.Sprint(m.priority))] {
				*problems = append(*problems, fmt.Sprintf("the exposure %s was copied to %s", m.key(), rg))
			}
		}
	}
	return len(plan.Sets), replicas
}

// isOurs reports whether a state key is in one of the script's groups.
func (w *world) isOurs(k string) bool {
	g, _, _ := strings.Cut(k, " ")
	for _, m := range w.rules {
		if m.group == g {
			return true
		}
	}
	return false
}

// restoreAll restores every revocation with the operator CLI, each with an
// exemption (so the guard leaves what comes back), and returns how many.
func (w *world) restoreAll(revs []ledger.Record, problems *[]string) int {
	if len(revs) == 0 {
		return 0
	}
	bin := cli(w.t)
	ep := endpointsFile(w.t, w.c)
	until := w.c.Clock.Now().AddDate(0, 0, 30).Format("2006-01-02")
	n := 0
	for _, r := range revs {
		cmd := exec.Command(bin, "restore", "--endpoints", ep, "--id", r.ID, "--exempt-until", until, "--owner", "chaos", "--reason", "restore-all check")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + w.t.TempDir()}
		if out, err := cmd.CombinedOutput(); err != nil {
			*problems = append(*problems, fmt.Sprintf("restore %s: %v: %s", r.ID, err, strings.TrimSpace(string(out))))
			continue
		}
		n++
	}
	return n
}

func (w *world) secrets() []string {
	out := w.c.Auth.Secrets()
	out = append(out, w.c.SigningKey())
	for _, r := range w.c.Endpoints().Robots {
		if u, err := url.Parse(r.Webhook); err == nil {
			if tok := u.Query().Get("access_token"); tok != "" {
				out = append(out, tok)
			}
		}
		if r.Secret != "" {
			out = append(out, r.Secret)
		}
	}
	var long []string
	for _, s := range out {
		if len(s) >= 8 {
			long = append(long, s)
		}
	}
	return long
}

func countExposing(ms []*model) int {
	n := 0
	for _, m := range ms {
		if m.exposing && m.group != "" {
			n++
		}
	}
	return n
}

func sourceList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d by %s", m[k], cmpOr(k, "?")))
	}
	return strings.Join(parts, ", ")
}

func mapList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// counts is invariant 7: what the run did.
func (r *report) counts(w *world, wall time.Duration) {
	var changes []string
	total := 0
	for _, k := range slices.Sorted(maps.Keys(w.counts)) {
		changes = append(changes, fmt.Sprintf("%s %d", k, w.counts[k]))
		total += w.counts[k]
	}
	snap := w.c.Stats.Snapshot()
	byAction := map[string]int{}
	faultsN := map[string]int{}
	for _, c := range snap.Calls {
		byAction[c.Service+" "+c.Action] += c.Count
		for code, n := range c.ErrorCodes {
			if code == "Throttling.User" || code == "ServiceUnavailable" {
				faultsN[c.Service+" "+code] += n
			}
		}
	}
	retries := 0
	for _, inv := range w.c.Runtime.Invocations() {
		if inv.RetryCount > 0 {
			retries++
		}
	}
	r.extra = append(r.extra,
		fmt.Sprintf("7. changes: %d (%s)", total, strings.Join(changes, ", ")),
		fmt.Sprintf("   faults injected: %s; events duplicated at 20%%, delayed up to %v; DingTalk down 10 virtual minutes", mapList(faultsN), *flagJitter),
		fmt.Sprintf("   invocations: %s; retried attempts %d", mapList(snap.Invocations), retries),
		fmt.Sprintf("   API calls: %s", mapList(byAction)),
		fmt.Sprintf("   wall time of the script: %v", wall.Round(time.Second)),
	)
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run, seed %d\n\n", r.seed)
	fmt.Fprintln(&b, "| # | invariant | holds | |")
	fmt.Fprintln(&b, "|---|---|---|---|")
	rows := slices.Clone(r.rows)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].n < rows[j].n })
	for _, x := range rows {
		mark := "✔"
		if !x.ok {
			mark = "✘"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", x.n, x.what, mark, x.detail)
	}
	fmt.Fprintln(&b)
	for _, e := range r.extra {
		fmt.Fprintln(&b, e)
	}
	return b.String()
}
