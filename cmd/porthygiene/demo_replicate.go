package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// replication is the demo's chapter on the replicator: the default world's
// set "web" (cn-hangzhou/sg-web → sg-web-dr in the standby VPC and
// sg-web-sh in cn-shanghai), declared by the replicas' tags.
func (d *demo) replication(ctx context.Context) error {
	fmt.Fprintln(d.env.stdout, "5. failover groups stay identical to their primary, across VPCs and regions")
	d.say("set web: cn-hangzhou/sg-web → cn-hangzhou/sg-web-dr (vpc-dr), cn-shanghai/sg-web-sh (tags porthygiene-replica-of)")
	d.newMessages()
	replicas := []string{"sg-web-dr", "sg-web-sh"}
	both := func(port int, cidr string) bool {
		return d.has(replicas[0], port, cidr) && d.has(replicas[1], port, cidr)
	}

	d.say("alice: AuthorizeSecurityGroup sg-web tcp 8443/8443 from 10.0.0.0/8 (\"admin console\")")
	t0 := time.Now()
	perm := rule.Permission{IpProtocol: "tcp", PortRange: "8443/8443", SourceCidrIp: "10.0.0.0/8", Policy: "accept", Priority: "1", Description: "admin console"}
	if err := d.authorize(ctx, "sg-web", perm); err != nil {
		return err
	}
	var took time.Duration
	for time.Since(t0) < 5*time.Second {
		if both(8443, "10.0.0.0/8") {
			took = time.Since(t0)
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.say("replicator: both replicas have it %s after the call returned", took.Round(time.Millisecond))
	d.check(took > 0 && took < time.Second, "a change on the primary arrived in both replicas (two VPCs, two regions) within a second")

	d.say("alice: opens tcp 3389/3389 on sg-web to 0.0.0.0/0")
	if err := d.authorize(ctx, "sg-web", tcpWorld(3389, "rdp for a vendor")); err != nil {
		return err
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.check(!d.has("sg-web", 3389, "0.0.0.0/0"), "the guard closed the exposure on the primary")
	d.check(!d.has(replicas[0], 3389, "0.0.0.0/0") && !d.has(replicas[1], 3389, "0.0.0.0/0") && !d.replicated(ctx, "3389/3389"),
		"the replicator never copied it (no replica had it, not even for an instant)")

	sh, err := d.region("cn-shanghai")
	if err != nil {
		return err
	}
	id := ""
	if rules, _ := d.cloud.ECS.Rules("sg-web-sh"); true {
		for _, r := range rules {
			if r.PortFrom == 443 && r.Peer.String() == "0.0.0.0/0" {
				id = r.ID
			}
		}
	}
	d.say("alice: RevokeSecurityGroup cn-shanghai/sg-web-sh %s (https) by hand: its event goes to cn-shanghai's bus", id)
	if _, err := sh.ecs.RevokeByID(ctx, "sg-web-sh", rule.Ingress, []string{id}); err != nil {
		return fmt.Errorf("demo: revoke on the replica: %w", err)
	}
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.check(!d.has("sg-web-sh", 443, "0.0.0.0/0"), "the replica drifted (no event reached the replicator in cn-hangzhou)")
	if _, err := d.cloud.Advance(ctx, 10*time.Minute); err != nil {
		return err
	}
	d.say("virtual clock advanced 10m: the replicator's reconcile ran")
	d.check(d.has("sg-web-sh", 443, "0.0.0.0/0"), "the timer restored the replica")
	msgs := d.newMessages()
	var healed []string
	for _, m := range msgs {
		if strings.Contains(m.Text, "drift healed") {
			healed = append(healed, m.Text)
		}
	}
	d.check(len(healed) > 0 && strings.Contains(strings.Join(healed, "\n"), "alice"), "its message names who changed the replica (from the trail)")
	d.showMessages(msgs, 1)
	d.summary = append(d.summary, fmt.Sprintf("replication: a change on the primary in both replicas %s later; an exposure never copied; drift healed by the timer, naming who", took.Round(time.Millisecond)))
	return nil
}

// replicated reports whether the replicator's ledger records show it
// authorized a rule of these ports anywhere.
func (d *demo) replicated(ctx context.Context, ports string) bool {
	if _, err := d.cloud.Advance(ctx, 5*time.Second); err != nil { // past SLS's index delay
		return true
	}
	recs, err := d.conn.ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindReplication}})
	if err != nil {
		return true
	}
	for _, r := range recs {
		if strings.Contains(string(r.Body), `"PortRange":"`+ports+`"`) {
			return true
		}
	}
	return false
}

// region opens the account in another region as the operator.
func (d *demo) region(region string) (*conn, error) {
	ep, err := json.Marshal(d.cloud.Endpoints())
	if err != nil {
		return nil, err
	}
	cf := cloudFlags{endpointsJSON: ep, region: region}
	return cf.open(d.env, true)
}
