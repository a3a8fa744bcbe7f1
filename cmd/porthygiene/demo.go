package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/restore"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// demo is the scripted story `make demo` runs on localcloud with the real
// function binaries: each step is a real API call, and every claim it prints
// is checked; a claim that does not hold fails the demo.
type demo struct {
	env     *cliEnv
	cloud   *localcloud.Cloud
	conn    *conn
	start   time.Time
	failed  []string
	msgSeen int
	summary []string
}

func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("demo", "[--config s.yaml] [--code-dir RESOURCE=DIR]", env.stderr)
	config := fs.String("config", "s.yaml", "the Serverless Devs file that declares the functions")
	codeDirs := codeDirFlag{}
	fs.Var(codeDirs, "code-dir", "RESOURCE=DIR: run that s.yaml resource's binary from DIR instead of its code directory (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d := &demo{env: env, start: time.Now()}
	// localcloud has no ECS rate limit; the guard's pacing (20 calls/s by
	// default, in wall time) would only make days of hourly sweeps slow.
	c, err := startLocal(ctx, env, localOptions{config: *config, addr: "127.0.0.1:0", quiet: true,
		opts: localcloud.Options{Env: map[string]string{"PORTHYGIENE_ECS_QPS": "1000"}, CodeDirs: codeDirs}})
	if err != nil {
		return err
	}
	defer c.Close()
	d.cloud = c
	if d.conn, err = demoConn(env, c); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "porthygiene demo — localcloud at %s, virtual clock %s\n", c.URL(), c.Clock.Now().Format(time.RFC3339))
	fmt.Fprintf(env.stdout, "functions: %s\n\n", functionNames(c))

	steps := []func(context.Context) error{d.sshToTheWorld, d.exemptionExpires, d.restoreWithExemption, d.burst, d.replication, d.reaperLifecycle}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout)
	}
	fmt.Fprintln(env.stdout, "summary")
	for _, s := range d.summary {
		fmt.Fprintf(env.stdout, "  - %s\n", s)
	}
	fmt.Fprintf(env.stdout, "  - wall time after the build: %s\n", time.Since(d.start).Round(10*time.Millisecond))
	if len(d.failed) > 0 {
		return fmt.Errorf("demo: %d claims did not hold: %s", len(d.failed), strings.Join(d.failed, "; "))
	}
	fmt.Fprintln(env.stdout, "all claims held.")
	return nil
}

// demoConn opens the account as the operator (alice), through the same code
// the CLI uses with --endpoints.
func demoConn(env *cliEnv, c *localcloud.Cloud) (*conn, error) {
	ep, err := json.Marshal(c.Endpoints())
	if err != nil {
		return nil, err
	}
	cf := cloudFlags{endpointsJSON: ep}
	return cf.open(env, true)
}

func functionNames(c *localcloud.Cloud) string {
	var out []string
	for _, f := range c.Endpoints().Functions {
		out = append(out, fmt.Sprintf("%s (%s)", f.Name, strings.Join(f.Triggers, ", ")))
	}
	return strings.Join(out, "; ")
}

func (d *demo) say(format string, a ...any) {
	fmt.Fprintf(d.env.stdout, "[%s +%5.1fs] %s\n", d.cloud.Clock.Now().Format("2006-01-02 15:04:05"), time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

func (d *demo) check(ok bool, claim string) {
	mark := "ok"
	if !ok {
		mark = "FAILED"
		d.failed = append(d.failed, claim)
	}
	fmt.Fprintf(d.env.stdout, "    %-6s %s\n", mark, claim)
}

func (d *demo) settle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return d.cloud.Settle(ctx)
}

// has reports whether group has an accepting ingress rule for port from cidr.
func (d *demo) has(group string, port int, cidr string) bool {
	rules, _ := d.cloud.ECS.Rules(group)
	for _, r := range rules {
		if r.Direction == "ingress" && r.Peer.IsValid() && r.Peer.String() == cidr && r.Policy == "Accept" &&
			(r.PortFrom == -1 || r.PortFrom <= port && port <= r.PortTo) {
			return true
		}
	}
	return false
}

func (d *demo) authorize(ctx context.Context, group string, perms ...rule.Permission) error {
	if err := d.conn.ecs.Authorize(ctx, group, rule.Ingress, perms); err != nil {
		return fmt.Errorf("demo: authorize %s: %w", group, err)
	}
	return nil
}

func tcpWorld(port int, desc string) rule.Permission {
	return rule.Permission{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1", Description: desc}
}

// newMessages returns the DingTalk messages accepted since the last call.
func (d *demo) newMessages() []dingtalk.Message {
	all := d.cloud.DingTalk.Messages("")
	out := all[d.msgSeen:]
	d.msgSeen = len(all)
	return out
}

func (d *demo) showMessages(msgs []dingtalk.Message, max int) {
	for i, m := range msgs {
		if i == max {
			fmt.Fprintf(d.env.stdout, "    … and %d more messages\n", len(msgs)-max)
			break
		}
		fmt.Fprintf(d.env.stdout, "    DingTalk → robot %q: %s\n", m.Robot, m.Title)
		lines := strings.Split(strings.TrimSpace(m.Text), "\n")
		for j, l := range lines {
			if j == 12 {
				fmt.Fprintln(d.env.stdout, "    │ …")
				break
			}
			fmt.Fprintf(d.env.stdout, "    │ %s\n", l)
		}
	}
}

func (d *demo) sshToTheWorld(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "1. someone opens SSH to the world")
	d.say("alice: AuthorizeSecurityGroup sg-web tcp 22/22 from 0.0.0.0/0 (\"temporary debug\")")
	t0 := time.Now()
	if err := d.authorize(ctx, "sg-web", tcpWorld(22, "temporary debug")); err != nil {
		return err
	}
	var closed time.Duration
	for time.Since(t0) < 5*time.Second {
		if !d.has("sg-web", 22, "0.0.0.0/0") {
			closed = time.Since(t0)
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.say("guard: rule revoked %s after the call returned", closed.Round(time.Millisecond))
	d.check(closed > 0 && closed < time.Second, "the exposure was closed within a second")
	d.check(d.has("sg-web", 22, "10.0.0.0/16"), "the VPC-internal SSH rule on the same port was left alone")
	d.check(d.has("sg-web", 443, "0.0.0.0/0"), "443 to the world was left alone (allowed by policy)")
	// Read by cursor: SLS's search index has it only seconds later.
	revs, _, err := d.conn.ledger.Tail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}, GroupID: "sg-web", Since: d.cloud.Clock.Now().Add(-time.Hour)}, nil)
	d.check(err == nil && len(revs) == 1, "the ledger holds the rule's backup")
	msgs := d.newMessages()
	d.check(len(msgs) >= 1 && strings.Contains(msgs[0].Text, "alice"), "the DingTalk message names who did it")
	d.showMessages(msgs, 1)
	d.summary = append(d.summary, fmt.Sprintf("SSH to the world closed %s after the change", closed.Round(time.Millisecond)))
	return nil
}

func (d *demo) exemptionExpires(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "2. an exempt bastion rule stays open until its date, then the sweep closes it")
	until := d.cloud.Clock.Now().Add(48 * time.Hour)
	ex := exemption.Exemption{Owner: "ops-team", Reason: "bastion for the migration", Until: time.Date(until.Year(), until.Month(), until.Day(), 0, 0, 0, 0, time.UTC)}
	desc := "bastion " + ex.MarkerWithKey(policy.Default().Exemptions.Marker)
	d.say("alice: opens tcp 22/22 from 0.0.0.0/0 on sg-bastion with %q", desc)
	if err := d.authorize(ctx, "sg-bastion", tcpWorld(22, desc)); err != nil {
		return err
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.check(d.has("sg-bastion", 22, "0.0.0.0/0"), "the exempt rule stays open")
	for _, step := range []time.Duration{24 * time.Hour, 48 * time.Hour} {
		now, err := d.cloud.Advance(ctx, step)
		if err != nil {
			return err
		}
		d.say("virtual clock advanced %s (hourly sweeps ran); rule open: %v", step, d.has("sg-bastion", 22, "0.0.0.0/0"))
		_ = now
	}
	d.check(!d.has("sg-bastion", 22, "0.0.0.0/0"), "after the exemption's date the sweep closed it")
	d.check(!d.has("sg-legacy", 3389, "0.0.0.0/0"), "the sweep also closed sg-legacy's RDP rule, which predates the deployment and produced no event")
	d.showMessages(d.newMessages(), 2)
	d.summary = append(d.summary, "an exemption held until its date; the sweep closed the rule after it")
	return nil
}

func (d *demo) restoreWithExemption(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "3. restore brings a closed rule back, with an exemption")
	revs, err := d.conn.ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}, GroupID: "sg-web"})
	if err != nil || len(revs) == 0 {
		return fmt.Errorf("demo: no revocation of sg-web in the ledger: %v", err)
	}
	id := revs[0].ID
	now := d.cloud.Clock.Now()
	_, err = restoreRule(ctx, d.conn, policy.Default(), id, nil, false, now)
	d.say("porthygiene restore --id %s  → %v", id, oneLine(fmt.Sprint(err)))
	d.check(errors.Is(err, restore.ErrExposure), "restoring an exposure without an exemption is refused")
	until := now.Add(30 * 24 * time.Hour).Format("2006-01-02")
	ex := exemption.Exemption{Owner: "alice", Reason: "vendor debugging", Until: mustDate(until)}
	res, err := restoreRule(ctx, d.conn, policy.Default(), id, &ex, false, now)
	if err != nil {
		return fmt.Errorf("demo: restore: %w", err)
	}
	d.say("porthygiene restore --id %s --exempt-until %s --owner alice --reason \"vendor debugging\" → %s", id, until, res.NewRuleID)
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.check(d.has("sg-web", 22, "0.0.0.0/0"), "the rule is back, and the guard leaves it (exempt until "+until+")")
	// A few seconds later, when SLS's index has the restore record.
	if _, err := d.cloud.Advance(ctx, d.cloud.SLS.IndexDelay()); err != nil {
		return err
	}
	_, err = restoreRule(ctx, d.conn, policy.Default(), id, &ex, false, now)
	d.check(errors.Is(err, restore.ErrAlreadyRestored), "a second restore of the same rule is refused")
	d.summary = append(d.summary, "restore re-authorized the backed-up rule with an exemption; the guard left it")
	return nil
}

func mustDate(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func (d *demo) burst(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "4. an IaC apply opens 60 sensitive rules at once")
	ports := []int{21, 23, 445, 1433, 1521, 2375, 2376, 3306, 3389, 5432, 5900, 6379, 9200, 9300, 10250, 11211, 27017, 2379, 2380, 22}
	d.newMessages()
	groups := []string{"sg-web", "sg-db", "sg-legacy"}
	t0 := d.cloud.Clock.Now()
	for _, g := range groups {
		var perms []rule.Permission
		for _, p := range ports {
			perms = append(perms, rule.Permission{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", p, p), SourceCidrIp: "0.0.0.0/0",
				Policy: "accept", Priority: "2", Description: "terraform apply"})
		}
		if err := d.authorize(ctx, g, perms...); err != nil {
			return err
		}
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	stillOpen := func() int {
		open := 0
		for _, g := range groups {
			for _, p := range ports {
				if d.has(g, p, "0.0.0.0/0") && p != 22 {
					open++
				}
			}
		}
		return open
	}
	first := stillOpen()
	d.say("guard: %d of 57 new exposures still open right after the burst: it paces itself (maxChangesPerMinute 20)", first)
	// The held-back revokes continue a minute later, at the pace; deferred
	// notifications go out within the budget.
	if _, err := d.cloud.Advance(ctx, 10*time.Minute); err != nil {
		return err
	}
	open := stillOpen()
	d.say("guard: %d still open 10 virtual minutes later", open)
	msgs := d.newMessages()
	paced := false
	for _, m := range msgs {
		paced = paced || strings.Contains(m.Text, "rate-limiting itself")
	}
	perMinute := map[int64]int{}
	maxPerMinute := 0
	for _, m := range msgs {
		k := m.Time.Unix() / 60
		perMinute[k]++
		maxPerMinute = max(maxPerMinute, perMinute[k])
	}
	tooFast := 0
	for _, a := range d.cloud.DingTalk.Attempts() {
		if a.ErrCode == 130101 && !a.Time.Before(t0) {
			tooFast++
		}
	}
	d.say("DingTalk: %d digest messages, at most %d in any minute, %d refused as too fast", len(msgs), maxPerMinute, tooFast)
	d.check(open == 0, "every exposure of the burst was closed within minutes, at the pace")
	d.check(first < 57 && paced, "the guard said it was rate-limiting itself")
	d.check(maxPerMinute <= 20 && tooFast == 0, "the robot stayed within 20 messages a minute")
	d.showMessages(msgs, 1)
	stats := d.cloud.Stats.Snapshot()
	var calls []string
	for _, c := range stats.Calls {
		if c.Caller == "porthygiene-fc-role" {
			calls = append(calls, fmt.Sprintf("%s:%s×%d", c.Service, c.Action, c.Count))
		}
	}
	sort.Strings(calls)
	d.summary = append(d.summary, fmt.Sprintf("burst of 57 exposures: %d closed at once, all within 10 virtual minutes at the pace; %d DingTalk digests, max %d/min, %d throttled",
		57-first, len(msgs), maxPerMinute, tooFast))
	d.summary = append(d.summary, "API calls by the functions' role: "+strings.Join(calls, " "))
	return nil
}
