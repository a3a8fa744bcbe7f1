package flowevidence

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Topic is the summary records' topic.
const Topic = "porthygiene_summary"

// Keys are the summary logstore's indexed keys (porthygiene setup).
var Keys = []string{"kind", "day", "region", "sg", "rule", "hits", "last", "enis", "covered", "gaps", "ipv6", "eni", "protocol", "dstport", "srcaddr"}

// BatchENIs is how many ENIs one flow-log query names: SLS allows 30
// keywords in a search, and each ENI is one.
const BatchENIs = 25

// MaxRows bounds the rows one aggregate query may return (SQL's LIMIT).
const MaxRows = 1_000_000

// Cloud is what the summary needs of one region's APIs.
type Cloud interface {
	observe.Reader
	ListGroups(ctx context.Context, opts cloud.ListOptions) ([]cloud.Group, error)
	NetworkInterfaces(ctx context.Context, opts cloud.ENIOptions) ([]cloud.ENI, error)
}

// FlowLogs lists a region's flow logs (DescribeFlowLogs).
type FlowLogs interface {
	FlowLogs(ctx context.Context) ([]cloud.FlowLog, error)
}

// Store is the log store the flow logs and the summaries are in.
type Store interface {
	Query(ctx context.Context, project, logstore string, from, to time.Time, query string) ([]map[string]string, error)
	PutLogs(ctx context.Context, project, logstore, topic string, logs []logstore.Log) error
}

// Summary names the summary logstore.
type Summary struct {
	Project, Logstore string
}

// Stats is what one summary run did.
type Stats struct {
	Day       string `json:"day"`
	Region    string `json:"region"`
	Skipped   bool   `json:"skipped,omitempty"` // already summarized
	ENIs      int    `json:"enis"`
	Covered   int    `json:"covered"`   // ENIs with a flow log all day
	Queries   int    `json:"queries"`   // SLS aggregate queries over flow logs
	Rows      int    `json:"rows"`      // rows they returned
	Groups    int    `json:"groups"`    // group records written
	Rules     int    `json:"rules"`     // rule records written (rules that saw traffic)
	Probes    int    `json:"probes"`    // probe records written
	Written   int    `json:"written"`   // summary records written
	Unmatched int64  `json:"unmatched"` // accepted flows no accept rule admits alone (the oracle's default)
}

// Summarize writes the summaries of day (the UTC day containing it) for
// region. A day already summarized (its "done" record) is skipped. The ENIs
// and rules are those of now: a rule deleted since carries no summary.
func Summarize(ctx context.Context, cl Cloud, fls FlowLogs, st Store, sum Summary, region string, day time.Time) (Stats, error) {
	d0 := day.UTC().Truncate(24 * time.Hour)
	d1 := d0.Add(24 * time.Hour)
	dayS := d0.Format(time.DateOnly)
	stats := Stats{Day: dayS, Region: region}
	done, err := st.Query(ctx, sum.Project, sum.Logstore, d0, d1, fmt.Sprintf("kind: done and region: %s and day: %s", logstore.Quote(region), logstore.Quote(dayS)))
	if err != nil {
		return stats, fmt.Errorf("summary of %s %s: %w", region, dayS, err)
	}
	if len(done) > 0 {
		stats.Skipped = true
		return stats, nil
	}
	enis, err := cl.NetworkInterfaces(ctx, cloud.ENIOptions{})
	if err != nil {
		return stats, fmt.Errorf("summary of %s %s: %w", region, dayS, err)
	}
	logs, err := fls.FlowLogs(ctx)
	if err != nil {
		return stats, fmt.Errorf("summary of %s %s: %w", region, dayS, err)
	}
	groups, err := cl.ListGroups(ctx, cloud.ListOptions{})
	if err != nil {
		return stats, fmt.Errorf("summary of %s %s: %w", region, dayS, err)
	}
	stats.ENIs = len(enis)

	// Coverage per ENI, and the ENIs of each flow log's logstore.
	type dest struct{ project, logstore string }
	byDest := map[dest][]string{}
	gaps := map[string][]string{} // eni → reasons
	groupsOf := map[string][]string{}
	byIP := map[netip.Addr][]string{} // a private address → its ENI's groups (FromGroups)
	for _, e := range enis {
		groupsOf[e.ID] = e.GroupIDs
		if e.PrivateIP.IsValid() {
			byIP[e.PrivateIP] = e.GroupIDs
		}
		var fl *cloud.FlowLog
		for i := range logs {
			if logs[i].Covers(e, d0) {
				fl = &logs[i]
				break
			}
		}
		if fl == nil {
			gaps[e.ID] = append(gaps[e.ID], "no-flow-log")
			continue
		}
		stats.Covered++
		k := dest{fl.Project, fl.Logstore}
		byDest[k] = append(byDest[k], e.ID)
	}

	// The rules of every group, read once (with its prefix lists).
	obs := observe.New(observe.Options{Now: d1, CachePrefixLists: true})
	rulesOf := map[string]observe.State{}
	for _, g := range groups {
		s, err := obs.Rules(ctx, cl, observe.Target{Region: region, GroupID: g.ID})
		if errors.Is(err, cloud.ErrNotFound) {
			continue
		}
		if err != nil {
			return stats, fmt.Errorf("summary of %s %s: %w", region, dayS, err)
		}
		rulesOf[g.ID] = s
	}

	type ruleKey struct{ sg, rule string }
	type useAgg struct {
		hits int64
		last int64
	}
	use := map[ruleKey]*useAgg{}
	type probeKey struct{ sg, eni, proto, port, src string }
	probes := map[probeKey]int64{}
	ipv6 := map[string]bool{} // eni → IPv6 records seen
	dests := make([]dest, 0, len(byDest))
	for k := range byDest {
		dests = append(dests, k)
	}
	sort.Slice(dests, func(i, j int) bool {
		return cmp.Or(cmp.Compare(dests[i].project, dests[j].project), cmp.Compare(dests[i].logstore, dests[j].logstore)) < 0
	})
	for _, k := range dests {
		ids := byDest[k]
		slices.Sort(ids)
		for batch := range slices.Chunk(ids, BatchENIs) {
			rows, err := st.Query(ctx, k.project, k.logstore, d0, d1, FlowQuery(batch))
			stats.Queries++
			if err != nil {
				return stats, fmt.Errorf("summary of %s %s: flow logs %s/%s: %w", region, dayS, k.project, k.logstore, err)
			}
			stats.Rows += len(rows)
			for _, row := range rows {
				eni := row["eni"]
				n, nerr := strconv.ParseInt(row["n"], 10, 64)
				switch strings.ToUpper(row["status"]) {
				case "SKIPDATA":
					gaps[eni] = append(gaps[eni], "skipdata")
					continue
				case "OK":
				default:
					continue // NODATA: captured silence
				}
				if row["direction"] != "in" {
					continue
				}
				proto, ok := protocols[row["protocol"]]
				if !ok {
					continue
				}
				port, perr := strconv.Atoi(row["dstport"])
				src, err := netip.ParseAddr(row["srcaddr"])
				last, lerr := strconv.ParseInt(row["last"], 10, 64)
				if err != nil || perr != nil || nerr != nil || lerr != nil || n < 0 || port < 0 || port > 65535 {
					// Traffic we cannot read is evidence we do not have:
					// the ENI's day is a gap (its rules "unknown"), never
					// silence that would make a rule look unused.
					gaps[eni] = append(gaps[eni], "unreadable flow record")
					continue
				}
				if src.Unmap().Is6() {
					ipv6[eni] = true
				}
				if strings.ToUpper(row["action"]) != "ACCEPT" {
					for _, g := range groupsOf[eni] {
						probes[probeKey{g, eni, string(proto), row["dstport"], row["srcaddr"]}] += n
					}
					continue
				}
				pkt := exposure.Packet{Direction: rule.Ingress, Protocol: proto, Port: port, Addr: src, FromGroups: byIP[src.Unmap()]}
				matched := false
				for _, g := range groupsOf[eni] {
					s, ok := rulesOf[g]
					if !ok {
						continue
					}
					for i := range s.Rules {
						r := s.Rules[i]
						if r.Direction != rule.Ingress || r.Policy == rule.Drop {
							continue
						}
						// The evaluator's oracle, one rule at a time: does this
						// accept rule alone admit the flow?
						if v := exposure.Decide(s.Rules[i:i+1], s.PrefixLists, pkt); !v.Allowed {
							continue
						}
						matched = true
						u := use[ruleKey{g, r.ID}]
						if u == nil {
							u = &useAgg{}
							use[ruleKey{g, r.ID}] = u
						}
						u.hits += n
						u.last = max(u.last, last)
					}
				}
				if !matched {
					stats.Unmatched += n
				}
			}
		}
	}

	// The records.
	var out []logstore.Log
	base := func(kind string) map[string]string {
		return map[string]string{"kind": kind, "day": dayS, "region": region}
	}
	gids := make([]string, 0, len(groups))
	members := map[string][]string{}
	for _, e := range enis {
		for _, g := range e.GroupIDs {
			members[g] = append(members[g], e.ID)
		}
	}
	for _, g := range groups {
		gids = append(gids, g.ID)
	}
	slices.Sort(gids)
	for _, g := range gids {
		c := base("group")
		c["sg"] = g
		var gg []string
		v6 := false
		for _, e := range members[g] {
			for _, why := range slices.Compact(slices.Sorted(slices.Values(gaps[e]))) {
				gg = append(gg, e+":"+why)
			}
			v6 = v6 || ipv6[e]
		}
		c["enis"] = strconv.Itoa(len(members[g]))
		c["covered"] = strconv.FormatBool(len(members[g]) > 0 && len(gg) == 0)
		if len(members[g]) == 0 {
			gg = append(gg, "-:no-network-interface")
		}
		c["gaps"] = strings.Join(gg, ",")
		c["ipv6"] = strconv.FormatBool(v6)
		out = append(out, logstore.Log{Time: d0, Contents: c})
		stats.Groups++
	}
	keys := make([]ruleKey, 0, len(use))
	for k := range use {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return cmp.Or(cmp.Compare(keys[i].sg, keys[j].sg), cmp.Compare(keys[i].rule, keys[j].rule)) < 0
	})
	for _, k := range keys {
		c := base("rule")
		c["sg"], c["rule"] = k.sg, k.rule
		c["hits"], c["last"] = strconv.FormatInt(use[k].hits, 10), strconv.FormatInt(use[k].last, 10)
		out = append(out, logstore.Log{Time: d0, Contents: c})
		stats.Rules++
	}
	pks := make([]probeKey, 0, len(probes))
	for k := range probes {
		pks = append(pks, k)
	}
	sort.Slice(pks, func(i, j int) bool {
		a, b := pks[i], pks[j]
		return cmp.Or(cmp.Compare(a.sg, b.sg), cmp.Compare(a.eni, b.eni), cmp.Compare(a.proto, b.proto), cmp.Compare(a.port, b.port), cmp.Compare(a.src, b.src)) < 0
	})
	for _, k := range pks {
		c := base("probe")
		c["sg"], c["eni"], c["protocol"], c["dstport"], c["srcaddr"] = k.sg, k.eni, k.proto, k.port, k.src
		c["hits"] = strconv.FormatInt(probes[k], 10)
		out = append(out, logstore.Log{Time: d0, Contents: c})
		stats.Probes++
	}
	for chunk := range slices.Chunk(out, 4096) {
		if err := st.PutLogs(ctx, sum.Project, sum.Logstore, Topic, chunk); err != nil {
			return stats, fmt.Errorf("summary of %s %s: write: %w", region, dayS, err)
		}
		stats.Written += len(chunk)
	}
	// Last: the day is done only once everything else is written.
	if err := st.PutLogs(ctx, sum.Project, sum.Logstore, Topic, []logstore.Log{{Time: d0, Contents: base("done")}}); err != nil {
		return stats, fmt.Errorf("summary of %s %s: write: %w", region, dayS, err)
	}
	stats.Written++
	return stats, nil
}

// protocols maps flow logs' IANA numbers to the rule model's protocols.
var protocols = map[string]rule.Protocol{"6": rule.TCP, "17": rule.UDP, "1": rule.ICMP, "58": rule.ICMPv6, "47": rule.GRE}

// FlowQuery is the one aggregate over a batch of ENIs' flow records of a
// day: every (ENI, status, action, direction, protocol, port, source) with
// its count and last window end.
func FlowQuery(enis []string) string {
	terms := make([]string, len(enis))
	for i, e := range enis {
		terms[i] = `"eni-id": ` + logstore.Quote(e)
	}
	return "(" + strings.Join(terms, " or ") + `) | select "eni-id" as eni, "log-status" as status, action, direction, protocol, dstport, srcaddr, ` +
		`count(1) as n, max("end") as last group by eni, status, action, direction, protocol, dstport, srcaddr limit ` + strconv.Itoa(MaxRows)
}
