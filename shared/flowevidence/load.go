package flowevidence

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/reaper"
)

// Region is the evidence of one region's groups over a look-back.
type Region struct {
	From, To time.Time
	// Groups is each group's evidence (Open and Changed are the ledger's,
	// filled in by the caller); a group without any summary is absent.
	Groups map[string]*reaper.Evidence
	// Queries and Rows count the SLS queries and the rows they returned.
	Queries, Rows int
}

// Window is the look-back ending at the UTC day of now: the days
// [day(now) - days, day(now)).
func Window(now time.Time, days int) (from, to time.Time) {
	to = now.UTC().Truncate(24 * time.Hour)
	return to.Add(-time.Duration(days) * 24 * time.Hour), to
}

// Load reads the evidence of region over [from, to) from the summaries:
// four aggregate queries, whatever the number of groups.
func Load(ctx context.Context, st Store, sum Summary, region string, from, to time.Time) (*Region, error) {
	out := &Region{From: from, To: to, Groups: map[string]*reaper.Evidence{}}
	q := func(query string) ([]map[string]string, error) {
		rows, err := st.Query(ctx, sum.Project, sum.Logstore, from, to, query)
		out.Queries++
		out.Rows += len(rows)
		if err != nil {
			return nil, fmt.Errorf("evidence of %s: %w", region, err)
		}
		return rows, nil
	}
	where := "region: " + logstore.Quote(region)
	limit := " limit " + strconv.Itoa(MaxRows)
	get := func(g string) *reaper.Evidence {
		e := out.Groups[g]
		if e == nil {
			e = &reaper.Evidence{From: from, To: to, Use: map[string]reaper.Use{}}
			out.Groups[g] = e
		}
		return e
	}
	rows, err := q("kind: group and " + where + " | select sg, max(cast(enis as bigint)) as enis, max(ipv6) as ipv6 group by sg" + limit)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		e := get(r["sg"])
		e.ENIs, _ = strconv.Atoi(r["enis"])
		e.IPv6 = r["ipv6"] == "true"
	}
	rows, err = q("kind: group and covered: true and " + where + " | select sg, count(distinct day) as days group by sg" + limit)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		get(r["sg"]).Covered, _ = strconv.Atoi(r["days"])
	}
	rows, err = q("kind: group and covered: false and " + where + " | select sg, day, gaps" + limit)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, r := range rows {
		for g := range strings.SplitSeq(r["gaps"], ",") {
			eni, why, ok := strings.Cut(g, ":")
			if !ok || seen[r["sg"]+"/"+r["day"]+"/"+g] {
				continue
			}
			seen[r["sg"]+"/"+r["day"]+"/"+g] = true
			if eni == "-" {
				eni = ""
			}
			e := get(r["sg"])
			e.Gaps = append(e.Gaps, reaper.Gap{Day: r["day"], ENI: eni, Reason: why})
		}
	}
	rows, err = q("kind: rule and " + where + " | select sg, rule, sum(cast(hits as bigint)) as hits, max(cast(last as bigint)) as last group by sg, rule" + limit)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		hits, _ := strconv.ParseInt(r["hits"], 10, 64)
		last, _ := strconv.ParseInt(r["last"], 10, 64)
		get(r["sg"]).Use[r["rule"]] = reaper.Use{Hits: hits, LastSeen: time.Unix(last, 0).UTC()}
	}
	// Days without any summary of the group are gaps too.
	days := int(to.Sub(from) / (24 * time.Hour))
	for _, e := range out.Groups {
		gapDays := map[string]bool{}
		for _, g := range e.Gaps {
			gapDays[g.Day] = true
		}
		if missing := days - e.Covered - len(gapDays); missing > 0 {
			e.Gaps = append(e.Gaps, reaper.Gap{Day: fmt.Sprintf("%d day(s)", missing), Reason: "no-summary"})
		}
		slices.SortFunc(e.Gaps, func(a, b reaper.Gap) int { return strings.Compare(a.Day+a.ENI, b.Day+b.ENI) })
	}
	return out, nil
}
