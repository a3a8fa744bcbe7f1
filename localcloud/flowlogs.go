package localcloud

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/vpc"
)

// TrafficPattern is steady traffic to one ENI that localcloud writes as VPC
// flow records while the virtual clock moves (Cloud.Advance): PerDay records
// a day, spread evenly over the UTC day, on the days the pattern is on. Each
// record gets the action the ENI's security groups decide at that moment
// (ACCEPT or REJECT), so a probe of a closed port is a REJECT record. A
// LogStatus of NODATA or SKIPDATA writes records of that status instead (no
// flow): NODATA is captured silence, SKIPDATA a capture gap (records
// dropped), as VPC writes them. Days count from the UTC day the virtual
// clock starts on (day 0). Records are written only by an Active flow log
// covering the ENI, and never dated before its CreationTime.
type TrafficPattern struct {
	ENI       string `json:"ENI"`
	Direction string `json:"Direction,omitempty"` // in (default) | out
	Protocol  string `json:"Protocol,omitempty"`  // tcp (default) | udp | icmp
	Port      int    `json:"Port,omitempty"`      // destination port
	// Source is the remote address (the source of inbound traffic).
	Source  string `json:"Source,omitempty"`
	SrcPort int    `json:"SrcPort,omitempty"`
	// PerDay is the records a day (default 24; NODATA/SKIPDATA default 1).
	PerDay int `json:"PerDay,omitempty"`
	// FromDay is the first day on (default 0); ToDay the first day off
	// again (0: never).
	FromDay int `json:"FromDay,omitempty"`
	ToDay   int `json:"ToDay,omitempty"`
	// OnDays and OffDays make a cycle from FromDay: OnDays days on, then
	// OffDays days off (default: on every day).
	OnDays  int `json:"OnDays,omitempty"`
	OffDays int `json:"OffDays,omitempty"`
	// Days, when set, are the only days on (FromDay, ToDay and the cycle
	// are then ignored).
	Days      []int  `json:"Days,omitempty"`
	LogStatus string `json:"LogStatus,omitempty"` // OK (default) | NODATA | SKIPDATA
	Packets   int    `json:"Packets,omitempty"`
	Bytes     int    `json:"Bytes,omitempty"`
}

// on reports whether the pattern writes records on day d.
func (p TrafficPattern) on(d int) bool {
	if len(p.Days) > 0 {
		for _, x := range p.Days {
			if x == d {
				return true
			}
		}
		return false
	}
	if d < p.FromDay || (p.ToDay > 0 && d >= p.ToDay) {
		return false
	}
	if p.OnDays > 0 && p.OffDays > 0 {
		return (d-p.FromDay)%(p.OnDays+p.OffDays) < p.OnDays
	}
	return true
}

func (p TrafficPattern) perDay() int {
	if p.PerDay > 0 {
		return p.PerDay
	}
	if s := strings.ToUpper(p.LogStatus); s == "NODATA" || s == "SKIPDATA" {
		return 1
	}
	return 24
}

func (p TrafficPattern) traffic() Traffic {
	return Traffic{ENI: p.ENI, Direction: p.Direction, Protocol: p.Protocol, SrcAddr: p.Source, SrcPort: p.SrcPort,
		DstPort: p.Port, Packets: p.Packets, Bytes: p.Bytes, LogStatus: p.LogStatus}
}

// loadFlowLogs installs the seed's flow logs in the VPC API (with the VPC of
// the resource each one covers) and checks the traffic patterns.
func (c *Cloud) loadFlowLogs(s Seed) error {
	vswVPC := map[string]string{}
	for _, r := range s.Regions {
		for _, v := range r.VSwitches {
			vswVPC[v.VSwitchID] = v.VpcID
		}
	}
	for i, fl := range s.FlowLogs {
		created := c.start
		if fl.CreationTime != "" {
			t, err := time.Parse(time.RFC3339, fl.CreationTime)
			if err != nil {
				return fmt.Errorf("localcloud: seed flow log %s: CreationTime %q: want RFC 3339", fl.FlowLogID, fl.CreationTime)
			}
			created = t.UTC()
		}
		vpcID := ""
		switch fl.ResourceType {
		case "VPC":
			vpcID = fl.ResourceID
		case "VSwitch":
			vpcID = vswVPC[fl.ResourceID]
		case "NetworkInterface":
			if e, ok := c.ECS.ENI(fl.ResourceID); ok {
				vpcID = e.VpcID
			}
		default:
			return fmt.Errorf("localcloud: seed flow log %s: ResourceType %q: want VPC, VSwitch or NetworkInterface", fl.FlowLogID, fl.ResourceType)
		}
		if fl.FlowLogID == "" || fl.ProjectName == "" || fl.LogStoreName == "" {
			return fmt.Errorf("localcloud: seed flow log %d: FlowLogId, ProjectName and LogStoreName are required", i)
		}
		switch fl.Status {
		case "", vpc.StatusActive, vpc.StatusActivating, vpc.StatusInactive:
		default:
			return fmt.Errorf("localcloud: seed flow log %s: Status %q: want Active, Activating or Inactive", fl.FlowLogID, fl.Status)
		}
		c.VPC.SetFlowLog(vpc.FlowLog{FlowLogID: fl.FlowLogID, FlowLogName: fl.FlowLogName, Description: fl.Description,
			RegionID: cmp.Or(fl.RegionID, c.region), ResourceType: fl.ResourceType, ResourceID: fl.ResourceID, VpcID: vpcID,
			ProjectName: fl.ProjectName, LogStoreName: fl.LogStoreName, TrafficType: fl.TrafficType, Status: fl.Status, CreationTime: created})
	}
	for i, p := range s.Traffic {
		if _, ok := c.ECS.ENI(p.ENI); !ok {
			return fmt.Errorf("localcloud: seed Traffic[%d]: no network interface %q", i, p.ENI)
		}
		st := strings.ToUpper(p.LogStatus)
		if st != "NODATA" && st != "SKIPDATA" {
			if _, err := netip.ParseAddr(p.Source); err != nil {
				return fmt.Errorf("localcloud: seed Traffic[%d]: Source %q: want an IP address", i, p.Source)
			}
		}
	}
	c.traffic = s.Traffic
	return nil
}

// activeFlowLog returns the Active flow log covering an ENI at t: one on
// the ENI itself first, then its VSwitch, then its VPC.
func (c *Cloud) activeFlowLog(e ecs.ENIView, t time.Time) (vpc.FlowLog, bool) {
	var best vpc.FlowLog
	rank := 0
	for _, fl := range c.VPC.FlowLogs() {
		if fl.Status != vpc.StatusActive || fl.CreationTime.After(t) {
			continue
		}
		r := 0
		switch {
		case fl.ResourceType == "NetworkInterface" && fl.ResourceID == e.ID:
			r = 3
		case fl.ResourceType == "VSwitch" && fl.ResourceID == e.VSwitchID:
			r = 2
		case fl.ResourceType == "VPC" && fl.ResourceID == e.VpcID:
			r = 1
		}
		if r > rank {
			best, rank = fl, r
		}
	}
	return best, rank > 0
}

// writeTraffic writes the seed's steady traffic for the instants in
// (c.trafficAt, to]; Advance calls it before moving the clock to each timer,
// so a timer sees every record dated before it.
func (c *Cloud) writeTraffic(to time.Time) error {
	from := c.trafficAt
	if !to.After(from) || len(c.traffic) == 0 {
		c.trafficAt = maxTime(from, to)
		return nil
	}
	day0 := c.start.UTC().Truncate(24 * time.Hour)
	type dest struct{ project, logstore string }
	batches := map[dest][]sls.Log{}
	first, last := int(from.Sub(day0)/(24*time.Hour)), int(to.Sub(day0)/(24*time.Hour))
	for i, p := range c.traffic {
		e, ok := c.ECS.ENI(p.ENI)
		if !ok {
			continue // the ENI was deleted
		}
		n := p.perDay()
		for d := first; d <= last; d++ {
			if !p.on(d) {
				continue
			}
			dayStart := day0.Add(time.Duration(d) * 24 * time.Hour)
			for k := range n {
				at := dayStart.Add(time.Duration((2*k + 1)) * 12 * time.Hour / time.Duration(n)).Truncate(time.Second)
				if !at.After(from) || at.After(to) || at.Before(c.start) {
					continue
				}
				fl, ok := c.activeFlowLog(e, at)
				if !ok {
					continue
				}
				contents, err := c.flowRecord(e, p.traffic(), at, 10*time.Minute)
				if err != nil {
					return fmt.Errorf("localcloud: Traffic[%d]: %w", i, err)
				}
				if !trafficKept(fl.TrafficType, contents) {
					continue
				}
				dst := dest{fl.ProjectName, fl.LogStoreName}
				batches[dst] = append(batches[dst], sls.Log{Time: at, Contents: contents})
			}
		}
	}
	for d, logs := range batches {
		if _, err := c.SLS.Append(d.project, d.logstore, sls.LogGroupInput{Topic: "flow_log", Logs: logs}); err != nil {
			return fmt.Errorf("localcloud: append flow logs to %s/%s: %w", d.project, d.logstore, err)
		}
	}
	c.trafficAt = to
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// trafficKept applies a flow log's TrafficType: Allow keeps ACCEPT records,
// Drop keeps REJECT records, All keeps every record.
func trafficKept(typ string, contents [][2]string) bool {
	action := ""
	for _, kv := range contents {
		if kv[0] == "action" {
			action = kv[1]
		}
	}
	switch typ {
	case "Allow":
		return action != "REJECT"
	case "Drop":
		return action != "ACCEPT"
	}
	return true
}

// flowRecord builds the contents of one flow record of e's traffic f over
// the capture window ending at end.
func (c *Cloud) flowRecord(e ecs.ENIView, f Traffic, end time.Time, window time.Duration) ([][2]string, error) {
	status := strings.ToUpper(f.LogStatus)
	if status == "" {
		status = "OK"
	}
	contents := [][2]string{
		{"version", "1"}, {"account-id", auth.AccountID}, {"region", e.RegionID},
		{"vpc-id", e.VpcID}, {"vswitch-id", e.VSwitchID}, {"eni-id", e.ID}, {"vm-id", e.InstanceID},
		{"start", strconv.FormatInt(end.Add(-window).Unix(), 10)}, {"end", strconv.FormatInt(end.Unix(), 10)},
		{"log-status", status},
	}
	switch status {
	case "NODATA", "SKIPDATA":
		// No flow in the window: the flow fields are "-", as VPC writes them.
		for _, k := range []string{"srcaddr", "srcport", "dstaddr", "dstport", "protocol", "direction", "packets", "bytes", "action", "tcp-flags"} {
			contents = append(contents, [2]string{k, "-"})
		}
		return contents, nil
	case "OK":
	default:
		return nil, fmt.Errorf("logStatus %q: want OK, NODATA or SKIPDATA", f.LogStatus)
	}
	proto := strings.ToLower(f.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	num, ok := protoNumbers[proto]
	if !ok {
		return nil, fmt.Errorf("protocol %q: want tcp, udp or icmp", f.Protocol)
	}
	dir := f.Direction
	if dir == "" {
		dir = "in"
	}
	if dir != "in" && dir != "out" {
		return nil, fmt.Errorf("direction %q: want in or out", f.Direction)
	}
	src, dst := f.SrcAddr, f.DstAddr
	local := e.PrimaryIP.String()
	if dir == "in" && dst == "" {
		dst = local
	}
	if dir == "out" && src == "" {
		src = local
	}
	remoteStr, port, secDir := src, f.DstPort, "ingress"
	if dir == "out" {
		remoteStr, secDir = dst, "egress"
	}
	remote, err := netip.ParseAddr(remoteStr)
	if err != nil {
		return nil, fmt.Errorf("remote address %q: %v", remoteStr, err)
	}
	action := "REJECT"
	if c.ECS.Decide(e.ID, secDir, proto, port, remote) {
		action = "ACCEPT"
	}
	packets, bytes := max(f.Packets, 1), max(f.Bytes, 60)
	return append(contents,
		[2]string{"srcaddr", src}, [2]string{"srcport", strconv.Itoa(f.SrcPort)},
		[2]string{"dstaddr", dst}, [2]string{"dstport", strconv.Itoa(f.DstPort)},
		[2]string{"protocol", num}, [2]string{"direction", dir},
		[2]string{"packets", strconv.Itoa(packets)}, [2]string{"bytes", strconv.Itoa(bytes)},
		[2]string{"action", action}, [2]string{"tcp-flags", "2"}, [2]string{"traffic_path", "0"}), nil
}
