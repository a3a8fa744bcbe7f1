package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// explainResult is what `explain --json` prints.
type explainResult struct {
	InstanceID string `json:"instanceId"`
	Region     string `json:"region"`
	Protocol   string `json:"protocol"`
	Port       int    `json:"port,omitempty"`
	From       string `json:"from"`
	// FromENI and FromGroups: the source address is the private address of
	// this network interface, so rules whose peer is one of its groups match.
	FromENI    string   `json:"fromNetworkInterfaceId,omitempty"`
	FromGroups []string `json:"fromSecurityGroupIds,omitempty"`
	// Allowed: some network interface of the instance accepts the packet.
	Allowed bool `json:"allowed"`
	// Uncertain: a rule on an unresolved prefix list, weighed before the
	// decision, might have decided otherwise.
	Uncertain  bool         `json:"uncertain,omitempty"`
	Interfaces []explainENI `json:"networkInterfaces"`
}

// explainENI is the verdict of the rules of all groups of one interface.
type explainENI struct {
	ID        string   `json:"networkInterfaceId"`
	Type      string   `json:"type"`
	PrivateIP string   `json:"privateIp,omitempty"`
	PublicIP  string   `json:"publicIp,omitempty"`
	Groups    []string `json:"securityGroupIds"`
	Allowed   bool     `json:"allowed"`
	Uncertain bool     `json:"uncertain,omitempty"`
	// Decision is the deciding rule; null when no rule matched and the
	// packet is denied by default.
	Decision *explainRule `json:"decidingRule"`
	// Considered are the rules of the packet's protocol and port, in the
	// order they are weighed (priority, drop before accept, group order).
	Considered []explainRule `json:"considered"`
}

type explainRule struct {
	GroupID     string `json:"securityGroupId"`
	RuleID      string `json:"ruleId"`
	Priority    int    `json:"priority"`
	Policy      string `json:"policy"`
	Protocol    string `json:"protocol"`
	PortRange   string `json:"portRange"`
	Peer        string `json:"peer"`
	Description string `json:"description,omitempty"`
	// Outcome is "decides", "peer does not match" (weighed, passed over),
	// "unknown" (unresolved prefix list) or "shadowed" (after the decision).
	Outcome string `json:"outcome"`
}

const (
	outcomeDecides  = "decides"
	outcomeNoMatch  = "peer does not match"
	outcomeUnknown  = "unknown: prefix list not resolved"
	outcomeShadowed = "shadowed"
	defaultFrom     = "8.8.8.8"
)

const explainNotes = `
The packet is judged as Alibaba Cloud does, per network interface: the rules
of all security groups of the interface are weighed together by priority
(1 first), drop before accept at equal priority; the first rule whose protocol,
port and peer match decides; none matching is denied. Every interface of the
instance (primary and secondary) is judged. --from defaults to 8.8.8.8, an
address on the internet; a private address of an interface in the instance's
VPC also matches rules whose peer is one of that interface's groups.
Routes, NAT, SLB and the instance's own firewall are not considered.

Exit codes: 0 the question was answered (allowed or not); 1 a cloud call
failed or the instance does not exist; 2 bad usage.
`

func runExplain(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("explain", "--instance ID --port P [--protocol tcp] [--from IP] [--json] [flags]", env.stderr)
	var cf cloudFlags
	cf.registerAccount(fs, "")
	instance := fs.String("instance", "", "the instance to reach (required)")
	port := fs.Int("port", 0, "destination port, 1-65535 (required for tcp and udp)")
	protocol := fs.String("protocol", "tcp", "tcp, udp, icmp, icmpv6 or gre")
	from := fs.String("from", defaultFrom, "source address (default: an address on the internet)")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	withNotes(fs, env.stderr, explainNotes)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*instance) == "" {
		return usagef("--instance is required")
	}
	proto, err := rule.ParseProtocol(*protocol)
	if err != nil || proto == rule.All {
		return usagef("--protocol %q: want tcp, udp, icmp, icmpv6 or gre", *protocol)
	}
	if proto.HasPorts() {
		if *port == 0 {
			return usagef("--port is required for %s", proto)
		}
		if *port < 1 || *port > 65535 {
			return usagef("--port %d: want 1-65535", *port)
		}
	} else if *port != 0 {
		return usagef("--port: %s has no ports", proto)
	}
	addr, err := netip.ParseAddr(*from)
	if err != nil {
		return usagef("--from %q: want an IPv4 or IPv6 address", *from)
	}
	addr = addr.Unmap()
	if strings.Contains(cf.region, ",") {
		return usagef("--region: explain looks in one region")
	}
	c, err := cf.openRegions(env, false)
	if err != nil {
		return err
	}
	res, err := explain(ctx, c[0], *instance, exposure.Packet{Direction: rule.Ingress, Protocol: proto, Port: *port, Addr: addr})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env, res)
	}
	return writeExplainText(env.stdout, res)
}

// explain judges the packet against every interface of the instance.
func explain(ctx context.Context, c *conn, instanceID string, p exposure.Packet) (*explainResult, error) {
	enis, err := c.ecs.NetworkInterfaces(ctx, ecsapi.ENIOptions{InstanceID: instanceID})
	if err != nil {
		return nil, fmt.Errorf("network interfaces of %s: %w", instanceID, err)
	}
	enis = slices.DeleteFunc(enis, func(e ecsapi.ENI) bool { return e.InstanceID != "" && e.InstanceID != instanceID })
	if len(enis) == 0 {
		return nil, fmt.Errorf("instance %s not found in %s: it has no network interfaces (is --region right?)", instanceID, c.region)
	}
	slices.SortStableFunc(enis, func(a, b ecsapi.ENI) int { return strings.Compare(primaryFirst(a), primaryFirst(b)) })
	res := &explainResult{InstanceID: instanceID, Region: c.region, Protocol: string(p.Protocol), Port: p.Port, From: p.Addr.String(), Interfaces: []explainENI{}}
	if !p.Protocol.HasPorts() {
		res.Port = 0
	}

	// A private source inside the VPC brings its interface's groups.
	if !exposure.IsPublic(p.Addr) && enis[0].VpcID != "" {
		peers, err := c.ecs.NetworkInterfaces(ctx, ecsapi.ENIOptions{VpcID: enis[0].VpcID})
		if err != nil {
			return nil, fmt.Errorf("network interfaces of %s: %w", enis[0].VpcID, err)
		}
		for _, e := range peers {
			if e.PrivateIP == p.Addr {
				res.FromENI, res.FromGroups = e.ID, e.GroupIDs
				p.FromGroups = e.GroupIDs
			}
		}
	}

	// The guard's reader of groups: each prefix list read once.
	obs := observe.New(observe.Options{CachePrefixLists: true, Logger: slog.New(slog.DiscardHandler)})
	rulesOf := map[string][]rule.Rule{}
	pls := exposure.PrefixLists{}
	for _, e := range enis {
		var rules []rule.Rule
		for _, gid := range e.GroupIDs {
			if _, ok := rulesOf[gid]; !ok {
				st, err := obs.Rules(ctx, c.ecs, observe.Target{Region: c.region, GroupID: gid})
				if err != nil {
					return nil, err
				}
				// A list that does not exist stays unresolved (its rules make
				// the verdict uncertain); any other failure is an error.
				for id, err := range st.Unresolved {
					if !errors.Is(err, cloud.ErrNotFound) {
						return nil, fmt.Errorf("prefix list %s: %w", id, err)
					}
				}
				rulesOf[gid] = st.Rules
				maps.Copy(pls, st.PrefixLists)
			}
			rules = append(rules, rulesOf[gid]...)
		}
		v := exposure.Decide(rules, pls, p)
		x := explainENI{ID: e.ID, Type: e.Type, Groups: e.GroupIDs, Allowed: v.Allowed, Uncertain: v.Unknown, Considered: []explainRule{}}
		if e.PrivateIP.IsValid() {
			x.PrivateIP = e.PrivateIP.String()
		}
		if e.PublicIP.IsValid() {
			x.PublicIP = e.PublicIP.String()
		}
		decided := false
		for _, s := range exposure.Trace(rules, pls, p) {
			er := explainRuleOf(s.Rule)
			switch {
			case decided:
				er.Outcome = outcomeShadowed
			case s.Rule == v.Rule:
				er.Outcome, decided = outcomeDecides, true
				d := er
				x.Decision = &d
			case s.Peer == exposure.PeerUnknown:
				er.Outcome = outcomeUnknown
			default:
				er.Outcome = outcomeNoMatch
			}
			x.Considered = append(x.Considered, er)
		}
		if v.Rule != nil && !decided {
			// Trace and Decide share their ordering; this cannot happen.
			return nil, errors.New("explain: the deciding rule is missing from the trace")
		}
		res.Allowed = res.Allowed || x.Allowed
		res.Uncertain = res.Uncertain || x.Uncertain
		res.Interfaces = append(res.Interfaces, x)
	}
	return res, nil
}

func primaryFirst(e ecsapi.ENI) string {
	if strings.EqualFold(e.Type, "Primary") {
		return "0"
	}
	return "1" + e.ID
}

func explainRuleOf(r *rule.Rule) explainRule {
	return explainRule{GroupID: r.GroupID, RuleID: r.ID, Priority: max(r.Priority, 1), Policy: string(r.Policy),
		Protocol: string(r.Protocol), PortRange: r.Ports.String(), Peer: r.Peer.String(), Description: r.Description}
}

func (r explainRule) text() string {
	s := fmt.Sprintf("%s %s: priority %d %s %s %s from %s", r.GroupID, r.RuleID, r.Priority, r.Policy, r.Protocol, r.PortRange, r.Peer)
	if r.Description != "" {
		s += fmt.Sprintf(" (%q)", r.Description)
	}
	return s
}

const maxNextRules = 5

func writeExplainText(w io.Writer, res *explainResult) error {
	what := res.Protocol
	if res.Port != 0 {
		what = fmt.Sprintf("%s/%d", res.Protocol, res.Port)
	}
	verdict := "DENIED"
	if res.Allowed {
		verdict = "ALLOWED"
	}
	if res.Uncertain {
		verdict += " (uncertain: a prefix list could not be resolved)"
	}
	fmt.Fprintf(w, "%s %s from %s: %s\n", res.InstanceID, what, res.From, verdict)
	if res.FromENI != "" {
		fmt.Fprintf(w, "the source is %s, in groups %s\n", res.FromENI, strings.Join(res.FromGroups, ", "))
	}
	for _, e := range res.Interfaces {
		addrs := e.PrivateIP
		if e.PublicIP != "" {
			addrs += ", public " + e.PublicIP
		}
		fmt.Fprintf(w, "\n%s (%s, %s), groups %s:\n", e.ID, e.Type, addrs, strings.Join(e.Groups, ", "))
		if e.Decision == nil {
			fmt.Fprintln(w, "  no rule matched: denied by default")
		} else {
			verb := "allowed"
			if !e.Allowed {
				verb = "denied"
			}
			fmt.Fprintf(w, "  %s by %s\n", verb, e.Decision.text())
		}
		if len(e.Considered) == 0 {
			fmt.Fprintf(w, "  no rule of these groups covers %s\n", what)
			continue
		}
		fmt.Fprintln(w, "  rules considered, in order:")
		after := 0
		for i, r := range e.Considered {
			if r.Outcome == outcomeShadowed {
				if after++; after > maxNextRules {
					fmt.Fprintf(w, "    … %d more\n", len(e.Considered)-i)
					break
				}
			}
			fmt.Fprintf(w, "    %d. %s — %s\n", i+1, r.text(), r.Outcome)
		}
	}
	return nil
}
