// Package chaos is the chaos run: localcloud with the real function binaries
// and SLS as the real one behaves (index delay on), a scripted stretch of
// virtual time in which several human principals change rules — harmless
// and exposing, ingress and egress, IPv4 and IPv6, a prefix list widened,
// exposures hidden behind a drop and later unmasked, exempt exposures —
// while faults are injected: ECS Throttling on 30% of calls and 5xx on 5%,
// 50 ms per ECS call, 20% of events delivered twice, every event delayed at
// random (so they overtake one another), the DingTalk robot down for ten
// virtual minutes, one guard invocation killed mid-run as at its timeout;
// the replicator keeps the default world's replicas of sg-web in step. At the end it checks the invariants and prints them as a
// table with the counts; the test fails if one does not hold.
//
//	make chaos                       # a virtual day, 500 changes
//	go test -run TestChaos ./internal/chaos/ -chaos.seed=N   # replay a run
//
// The short variant (half a virtual hour, 24 changes) runs in make test. The seed
// of the script is printed; the faults draw from their own sources, so a
// replay repeats the script exactly and the faults in kind and rate.
package chaos

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
)

var (
	flagDuration = flag.Duration("chaos.duration", 30*time.Minute, "virtual time the script spans")
	flagChanges  = flag.Int("chaos.changes", 24, "rule changes the principals make")
	flagSeed     = flag.Uint64("chaos.seed", 0, "the script's seed; 0: drawn, and printed")
	flagJitter   = flag.Duration("chaos.jitter", time.Second, "the largest random delay of an event delivery (wall clock)")
	flagReport   = flag.String("chaos.report", "", "also write the table to this file")
	// The kill is make chaos's: killed between its revoke and its record, a
	// run leaves a revoked rule with a backup and no revocation record (the
	// retry finds it gone), which invariant 3 reports — README "Known
	// limits" — in about one run in eight; make test leaves it out until it
	// is fixed, so that it is not a flaky test.
	flagKill = flag.Bool("chaos.kill", false, "kill one guard invocation mid-run, as at its timeout")
)

// principals are the humans of the account.
var principals = []string{"alice", "bob", "carol", "dave"}

// Sensitive ports the shipped policy enforces (critical or high); hidden
// pairs use 3389 alone, so that no other rule of theirs interferes.
var exposingPorts = []int{22, 3306, 5432, 6379, 27017, 9200, 11211, 1433}

// kind is what one change does.
type kind string

const (
	harmlessIngress kind = "harmless ingress"     // private source, or a public one on a port the policy allows
	harmlessEgress  kind = "harmless egress"      // egress accept: never an exposure
	exposeIngress   kind = "exposing ingress"     // a sensitive port open to 0.0.0.0/0 or ::/0
	exemptExposure  kind = "exempt exposure"      // the same, with a valid exemption marker
	hiddenPair      kind = "hidden behind a drop" // a drop at priority 1 hides an accept open to the world (a new group)
	unmask          kind = "drop revoked"         // a hiding drop revoked: its accept becomes an exposure
	humanRevoke     kind = "human revoke"         // a principal removes a harmless rule of theirs
	widenList       kind = "prefix list widened"  // 0.0.0.0/0 added to a list an SSH accept references
)

// model is one rule a principal wrote, as the harness knows it.
type model struct {
	group, direction, proto, ports, cidr, cidr6, pl, policy, desc string
	priority                                                      int
	by                                                            string
	kind                                                          kind
	exposing                                                      bool // the policy calls it an exposure (now)
	exempt                                                        bool
	revokedByHuman                                                bool
	hides                                                         *model // a hiding drop: the accept it hides
	openedAt                                                      int    // batch; noEvent: in the world before the guard ran
}

// noEvent is the openedAt of a rule no event announces: the sweep's to find.
const noEvent = -1 << 30

func (m *model) key() string {
	return ruleKey(m.group, m.direction, m.proto, m.ports, m.cidr+m.cidr6+m.pl, m.policy, fmt.Sprint(m.priority))
}

type world struct {
	t      *testing.T
	c      *localcloud.Cloud
	led    *ledger.Ledger
	rng    *rand.Rand
	users  map[string]func() *ecs.Client // a fresh client: the SDK's is not safe for concurrent use
	groups []string                      // ordinary groups for harmless and exposing rules
	pl     string
	plRule *model
	mu     sync.Mutex
	rules  []*model
	counts map[kind]int
	errs   []string
	faults faults.Config
	// killedAfter is when into its run the killed invocation was cut off.
	killedAfter time.Duration
}

func TestChaos(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("chaos seed %d (replay: go test -run TestChaos ./internal/chaos/ -chaos.seed=%d -chaos.duration=%v -chaos.changes=%d)", seed, seed, *flagDuration, *flagChanges)

	c := lctest.Start(t, localcloud.Options{
		// SLS as the real one behaves: searchable 3 s after a write.
		SLSIndexDelay: 3 * time.Second,
	}, "guard", "approve", "reaper", "replicator")
	w := &world{t: t, c: c, led: ledgerOf(c), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		users: map[string]func() *ecs.Client{}, counts: map[kind]int{}}
	for _, p := range principals {
		w.users[p] = w.ecsAs(p)
	}
	w.setup()

	w.faults = faults.Config{
		Actions:        []faults.Action{{Service: "ecs", ThrottleRatio: 0.30, ServerErrorRatio: 0.05, Latency: 50 * time.Millisecond}},
		DuplicateRatio: 0.20, EventDelayJitter: *flagJitter,
	}
	c.SetFaults(w.faults)

	// The script: batches of changes made at once by several principals,
	// each batch followed by the virtual time it spans.
	// At most 48 batches (each waits for its events, up to the jitter):
	// a virtual day is 48 half-hours of about ten changes each.
	batchSpan := max(5*time.Minute, *flagDuration/48)
	batches := max(1, int(*flagDuration/batchSpan))
	perBatch := make([]int, batches)
	for i := range *flagChanges {
		perBatch[i%batches]++
	}
	// The robot is down for ten virtual minutes, from the start of a batch.
	downAt := batches * 2 / 5
	var recoveredAt time.Time
	start := time.Now()
	var downUntil time.Time
	for b := range batches {
		if b == downAt {
			w.faults.DingTalkDown = true
			c.SetFaults(w.faults)
			downUntil = c.Clock.Now().Add(10 * time.Minute)
		}
		if b == 1 && *flagKill {
			// One guard invocation is killed as at its timeout, wherever it
			// is then: between a backup and its revoke, a revoke and its record.
			w.killedAfter = time.Duration(60+w.rng.IntN(200)) * time.Millisecond
			c.Runtime.KillNext("porthygiene-guard", w.killedAfter)
		}
		w.batch(b, perBatch[b])
		lctest.Settle(t, c)
		w.checkClosedByItsEvent(b)
		span := batchSpan
		if w.faults.DingTalkDown && !c.Clock.Now().Add(span).Before(downUntil) {
			// The robot comes back inside this batch's span.
			first := downUntil.Sub(c.Clock.Now())
			if _, err := c.Advance(t.Context(), first); err != nil {
				t.Fatal(err)
			}
			w.faults.DingTalkDown = false
			c.SetFaults(w.faults)
			recoveredAt = c.Clock.Now()
			span -= first
		}
		if _, err := c.Advance(t.Context(), span); err != nil {
			t.Fatal(err)
		}
	}
	if recoveredAt.IsZero() {
		w.faults.DingTalkDown = false
		c.SetFaults(w.faults)
		recoveredAt = c.Clock.Now()
	}
	scriptWall := time.Since(start)

	// Past the next sweep, with the faults still on; then calm, and the
	// ledger's index catches up.
	if _, err := c.Advance(t.Context(), time.Hour); err != nil {
		t.Fatal(err)
	}
	c.SetFaults(faults.Config{})
	if _, err := c.Advance(t.Context(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)

	var rep report
	rep.seed = seed
	w.invariants(&rep, recoveredAt)
	rep.counts(w, scriptWall)
	out := rep.String()
	t.Log("\n" + out)
	fmt.Println(out)
	if *flagReport != "" {
		if err := os.WriteFile(*flagReport, []byte(out), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, r := range rep.rows {
		if !r.ok {
			t.Errorf("invariant %d failed: %s — %s", r.n, r.what, r.detail)
		}
	}
}

// setup makes the world before the faults: ordinary groups, a prefix list
// and an SSH accept that references it.
func (w *world) setup() {
	op := lctest.ECS(w.t, w.c)
	for i := range 6 {
		w.groups = append(w.groups, w.createGroup(op, fmt.Sprintf("chaos-%d", i)))
	}
	req := ecs.CreateCreatePrefixListRequest()
	req.RegionId, req.PrefixListName, req.AddressFamily, req.MaxEntries = w.c.Region(), "chaos-office", "IPv4", requests.NewInteger(10)
	req.Entry = &[]ecs.CreatePrefixListEntry{{Cidr: "10.20.0.0/16", Description: "office"}}
	resp, err := op.CreatePrefixList(req)
	if err != nil {
		w.t.Fatal(err)
	}
	w.pl = resp.PrefixListId
	w.plRule = &model{group: w.groups[0], direction: "ingress", proto: "tcp", ports: "22/22", pl: w.pl, policy: "Accept", priority: 1,
		desc: "ssh from the office", by: "operator", kind: harmlessIngress}
	w.authorize(op, w.plRule)
	w.rules = append(w.rules, w.plRule)
	// sg-web is the primary of the default world's replication set "web"
	// (replicas in vpc-dr and in cn-shanghai): its changes are replicated,
	// its exposures never. Its seed rules are in the model.
	w.groups = append(w.groups, "sg-web")
	for _, r := range []struct{ ports, cidr string }{{"443/443", "0.0.0.0/0"}, {"80/80", "0.0.0.0/0"}, {"22/22", "10.0.0.0/16"}, {"8080/8080", "10.0.0.0/16"}} {
		w.rules = append(w.rules, &model{group: "sg-web", direction: "ingress", proto: "tcp", ports: r.ports, cidr: r.cidr,
			policy: "Accept", priority: 1, by: "seed", kind: harmlessIngress, openedAt: noEvent})
	}
	// The seed's own exposure: RDP open to the world on sg-legacy, for the
	// first sweep to close.
	w.rules = append(w.rules, &model{group: "sg-legacy", direction: "ingress", proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0",
		policy: "Accept", priority: 1, desc: "rdp for the vendor", by: "seed", kind: exposeIngress, exposing: true, openedAt: noEvent})
	lctest.Settle(w.t, w.c)
}

func (w *world) createGroup(cl *ecs.Client, name string) string {
	req := ecs.CreateCreateSecurityGroupRequest()
	req.RegionId, req.VpcId, req.SecurityGroupName = w.c.Region(), "vpc-demo", name
	var id string
	w.retry("CreateSecurityGroup", func() error {
		resp, err := cl.CreateSecurityGroup(req)
		if err == nil {
			id = resp.SecurityGroupId
		}
		return err
	})
	return id
}

// retry is the human who tries again when the API throttles or fails: the
// faults are injected before the call does anything.
func (w *world) retry(what string, f func() error) {
	for i := 0; ; i++ {
		err := f()
		if err == nil {
			return
		}
		if i > 50 || !(strings.Contains(err.Error(), "Throttling") || strings.Contains(err.Error(), "ServiceUnavailable")) {
			w.mu.Lock()
			w.errs = append(w.errs, fmt.Sprintf("%s: %v", what, err))
			w.mu.Unlock()
			return
		}
		time.Sleep(time.Duration(10+i*5) * time.Millisecond)
	}
}

func (w *world) authorize(cl *ecs.Client, ms ...*model) {
	byDir := map[string][]*model{}
	for _, m := range ms {
		byDir[m.direction] = append(byDir[m.direction], m)
	}
	for dir, list := range byDir {
		g := list[0].group
		if dir == "egress" {
			req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
			req.RegionId, req.SecurityGroupId = w.c.Region(), g
			var ps []ecs.AuthorizeSecurityGroupEgressPermissions
			for _, m := range list {
				ps = append(ps, ecs.AuthorizeSecurityGroupEgressPermissions{IpProtocol: m.proto, PortRange: m.ports, DestCidrIp: m.cidr,
					Ipv6DestCidrIp: m.cidr6, DestPrefixListId: m.pl, Policy: m.policy, Priority: fmt.Sprint(m.priority), Description: m.desc})
			}
			req.Permissions = &ps
			w.retry("AuthorizeSecurityGroupEgress", func() error { _, err := cl.AuthorizeSecurityGroupEgress(req); return err })
			continue
		}
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = w.c.Region(), g
		var ps []ecs.AuthorizeSecurityGroupPermissions
		for _, m := range list {
			ps = append(ps, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: m.proto, PortRange: m.ports, SourceCidrIp: m.cidr,
				Ipv6SourceCidrIp: m.cidr6, SourcePrefixListId: m.pl, Policy: m.policy, Priority: fmt.Sprint(m.priority), Description: m.desc})
		}
		req.Permissions = &ps
		w.retry("AuthorizeSecurityGroup", func() error { _, err := cl.AuthorizeSecurityGroup(req); return err })
	}
}

// ruleKey identifies a rule by what the API compares: the same rule
// whatever case the protocol and policy are written in.
func ruleKey(group, direction, proto, ports, peer, policy, priority string) string {
	return strings.Join([]string{group, direction, strings.ToLower(proto), ports, peer, strings.ToLower(policy), priority}, " ")
}

func (w *world) revoke(cl *ecs.Client, m *model) {
	if m.direction == "egress" {
		req := ecs.CreateRevokeSecurityGroupEgressRequest()
		req.RegionId, req.SecurityGroupId = w.c.Region(), m.group
		req.Permissions = &[]ecs.RevokeSecurityGroupEgressPermissions{{IpProtocol: m.proto, PortRange: m.ports, DestCidrIp: m.cidr,
			Ipv6DestCidrIp: m.cidr6, DestPrefixListId: m.pl, Policy: m.policy, Priority: fmt.Sprint(m.priority)}}
		w.retry("RevokeSecurityGroupEgress", func() error { _, err := cl.RevokeSecurityGroupEgress(req); return err })
		return
	}
	req := ecs.CreateRevokeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = w.c.Region(), m.group
	req.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: m.proto, PortRange: m.ports, SourceCidrIp: m.cidr,
		Ipv6SourceCidrIp: m.cidr6, SourcePrefixListId: m.pl, Policy: m.policy, Priority: fmt.Sprint(m.priority)}}
	w.retry("RevokeSecurityGroup", func() error { _, err := cl.RevokeSecurityGroup(req); return err })
}

// pick draws the next change; the draws are the seed's alone.
func (w *world) pick() kind {
	r := w.rng.IntN(100)
	switch {
	case r < 30:
		return harmlessIngress
	case r < 40:
		return harmlessEgress
	case r < 65:
		return exposeIngress
	case r < 72:
		return exemptExposure
	case r < 80:
		return hiddenPair
	case r < 88:
		return unmask
	case r < 97:
		return humanRevoke
	}
	return widenList
}

// batch makes n changes at once, each by a principal of its own goroutine.
func (w *world) batch(b, n int) {
	type change struct {
		who  string
		kind kind
		do   func(cl *ecs.Client)
	}
	var cs []change
	taken := map[string]bool{}
	for _, m := range w.rules {
		taken[m.key()] = true
	}
	for range n {
		who := principals[w.rng.IntN(len(principals))]
		k := w.pick()
		g := w.groups[w.rng.IntN(len(w.groups))]
		var do func(cl *ecs.Client)
		newRule := func(m *model) bool {
			m.by, m.kind, m.openedAt = who, k, b
			if m.policy == "" {
				m.policy = "Accept"
			}
			if m.priority == 0 {
				m.priority = 1
			}
			if taken[m.key()] {
				return false
			}
			taken[m.key()] = true
			w.rules = append(w.rules, m)
			return true
		}
		switch k {
		case harmlessIngress:
			var m *model
			if w.rng.IntN(2) == 0 {
				p := exposingPorts[w.rng.IntN(len(exposingPorts))]
				m = &model{group: g, direction: "ingress", proto: "tcp", ports: fmt.Sprintf("%d/%d", p, p),
					cidr: fmt.Sprintf("10.%d.%d.0/24", w.rng.IntN(256), w.rng.IntN(256)), desc: "internal"}
			} else {
				m = &model{group: g, direction: "ingress", proto: "tcp", ports: "443/443", desc: "https"}
				if w.rng.IntN(2) == 0 {
					m.cidr6 = "::/0"
				} else {
					m.cidr = "0.0.0.0/0"
				}
			}
			if !newRule(m) {
				continue
			}
			do = func(cl *ecs.Client) { w.authorize(cl, m) }
		case harmlessEgress:
			p := 1000 + w.rng.IntN(9000)
			m := &model{group: g, direction: "egress", proto: "tcp", ports: fmt.Sprintf("%d/%d", p, p), cidr: "0.0.0.0/0", desc: "out"}
			if !newRule(m) {
				continue
			}
			do = func(cl *ecs.Client) { w.authorize(cl, m) }
		case exposeIngress, exemptExposure:
			p := exposingPorts[w.rng.IntN(len(exposingPorts))]
			m := &model{group: g, direction: "ingress", proto: "tcp", ports: fmt.Sprintf("%d/%d", p, p), exposing: true, desc: "quick fix"}
			if w.rng.IntN(4) == 0 {
				m.cidr6 = "::/0"
			} else {
				m.cidr = "0.0.0.0/0"
			}
			if k == exemptExposure {
				m.exposing, m.exempt = false, true
				m.desc = fmt.Sprintf(`[porthygiene-exempt owner=%s until=%s reason="chaos"]`, who, w.c.Clock.Now().AddDate(0, 0, 30).Format("2006-01-02"))
			}
			if !newRule(m) {
				continue
			}
			do = func(cl *ecs.Client) { w.authorize(cl, m) }
		case hiddenPair:
			accept := &model{direction: "ingress", proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0", priority: 50, desc: "rdp, hidden"}
			drop := &model{direction: "ingress", proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0", policy: "Drop", priority: 1, desc: "no rdp", hides: accept}
			do = func(cl *ecs.Client) {
				hg := w.createGroup(cl, fmt.Sprintf("hidden-%d", b))
				w.mu.Lock()
				accept.group, drop.group = hg, hg
				w.mu.Unlock()
				w.authorize(cl, drop, accept)
			}
			accept.by, drop.by, accept.kind, drop.kind, accept.openedAt, drop.openedAt = who, who, k, k, b, b
			accept.policy = "Accept"
			w.rules = append(w.rules, accept, drop)
		case unmask:
			var drops []*model
			for _, m := range w.rules {
				if m.hides != nil && !m.revokedByHuman && m.group != "" {
					drops = append(drops, m)
				}
			}
			if len(drops) == 0 {
				continue
			}
			d := drops[w.rng.IntN(len(drops))]
			d.revokedByHuman = true
			d.hides.exposing = true
			d.hides.openedAt = b
			do = func(cl *ecs.Client) { w.revoke(cl, d) }
		case humanRevoke:
			var mine []*model
			for _, m := range w.rules {
				if !m.exposing && !m.exempt && m.hides == nil && m.kind != hiddenPair && !m.revokedByHuman && m != w.plRule && m.by != "operator" && m.openedAt < b {
					mine = append(mine, m)
				}
			}
			if len(mine) == 0 {
				continue
			}
			m := mine[w.rng.IntN(len(mine))]
			m.revokedByHuman = true
			do = func(cl *ecs.Client) { w.revoke(cl, m) }
		case widenList:
			if w.plRule.exposing {
				continue
			}
			w.plRule.exposing, w.plRule.openedAt = true, b
			do = func(cl *ecs.Client) {
				req := ecs.CreateModifyPrefixListRequest()
				req.RegionId, req.PrefixListId = w.c.Region(), w.pl
				req.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: "0.0.0.0/0", Description: "everyone, for a minute"}}
				w.retry("ModifyPrefixList", func() error { _, err := cl.ModifyPrefixList(req); return err })
			}
		}
		w.counts[k]++
		cs = append(cs, change{who: who, kind: k, do: do})
	}
	var wg sync.WaitGroup
	for _, ch := range cs {
		wg.Go(func() { ch.do(w.users[ch.who]()) })
	}
	wg.Wait()
}

// checkClosedByItsEvent: once a batch has settled (its events delivered and
// handled, no clock moved), every exposure it opened is gone, or the guard
// has said that its revoke failed. Recorded for invariant 1.
func (w *world) checkClosedByItsEvent(b int) {
	state := w.state()
	for _, m := range w.rules {
		if !m.exposing || m.openedAt != b || m.group == "" {
			continue
		}
		if state[m.key()] {
			w.mu.Lock()
			w.errs = append(w.errs, "open after its batch: "+m.key())
			w.mu.Unlock()
			m.openedAt = -1 - b // left for later: invariant 1 asks why
		}
	}
}

// state is every rule of the harness's groups, by model key.
func (w *world) state() map[string]bool {
	groups := map[string]bool{}
	for _, m := range w.rules {
		if m.group != "" {
			groups[m.group] = true
		}
	}
	return w.stateOf(groups)
}

// stateOf is every rule of groups (in the default region), by model key.
func (w *world) stateOf(groups map[string]bool) map[string]bool {
	out := map[string]bool{}
	op := lctest.ECS(w.t, w.c)
	for g := range groups {
		for _, dir := range []string{"ingress", "egress"} {
			req := ecs.CreateDescribeSecurityGroupAttributeRequest()
			req.RegionId, req.SecurityGroupId, req.Direction = w.c.Region(), g, dir
			var resp *ecs.DescribeSecurityGroupAttributeResponse
			w.retry("DescribeSecurityGroupAttribute", func() (err error) { resp, err = op.DescribeSecurityGroupAttribute(req); return err })
			if resp == nil {
				continue
			}
			for _, p := range resp.Permissions.Permission {
				peer := p.SourceCidrIp + p.Ipv6SourceCidrIp + p.SourcePrefixListId
				if dir == "egress" {
					peer = p.DestCidrIp + p.Ipv6DestCidrIp + p.DestPrefixListId
				}
				out[ruleKey(g, dir, p.IpProtocol, p.PortRange, peer, p.Policy, p.Priority)] = true
			}
		}
	}
	return out
}

// ecsAs returns a constructor of ECS clients signing as a new RAM user.
func (w *world) ecsAs(user string) func() *ecs.Client {
	cred := w.c.Auth.AddUser(user)
	return func() *ecs.Client {
		cl, err := ecs.NewClientWithOptions(w.c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(cred.AccessKeyID, cred.AccessKeySecret))
		if err != nil {
			panic(err) // only for a malformed region or credential, which these are not
		}
		cl.Domain = w.c.Addr()
		return cl
	}
}

// ledgerOf is the ledger of c, read over the real SLS SDK.
func ledgerOf(c *localcloud.Cloud) *ledger.Ledger { return ledgertest.Of(c) }

// cli builds cmd/porthygiene.
func cli(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "porthygiene")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/porthygiene")
	cmd.Dir = lctest.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/porthygiene: %v\n%s", err, out)
	}
	return bin
}

// endpointsFile writes c's endpoints as `porthygiene local --endpoints-file` does.
func endpointsFile(t *testing.T, c *localcloud.Cloud) string {
	t.Helper()
	data, err := json.Marshal(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "endpoints.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
