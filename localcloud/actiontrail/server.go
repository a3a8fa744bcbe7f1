package actiontrail

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/rpc"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// APIVersion is the ActionTrail API version served.
const APIVersion = "2020-07-06"

// Trail is one trail of the account, delivering to the logstore
// actiontrail_<Name> of SlsProject (in HomeRegion) unless Stopped.
type Trail struct {
	Name       string
	HomeRegion string
	SlsProject string
	Stopped    bool
}

// Logstore is the logstore ActionTrail creates for and delivers the trail to.
func (t Trail) Logstore() string { return "actiontrail_" + t.Name }

// ServerConfig wires a Server.
type ServerConfig struct {
	Auth      *auth.Store
	Stats     *stats.Stats
	Faults    *faults.Set
	Clock     interface{ Now() time.Time }
	AccountID string
}

// Server serves the read side of the ActionTrail API: DescribeTrails and
// GetTrailStatus. It is safe for concurrent use.
type Server struct {
	rpc.Service
	account string
	started time.Time

	mu     sync.RWMutex
	trails []Trail
}

// NewServer returns a server without trails.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{account: cfg.AccountID, started: time.Now().UTC()}
	if cfg.Clock != nil {
		s.started = cfg.Clock.Now().UTC()
	}
	s.Service = rpc.Service{Name: "actiontrail", Product: "Actiontrail", Version: APIVersion, Auth: cfg.Auth, Stats: cfg.Stats, Faults: cfg.Faults, Clock: cfg.Clock,
		Handlers: map[string]rpc.Handler{
			"DescribeTrails": s.describeTrails,
			"GetTrailStatus": s.getTrailStatus,
		}}
	return s
}

// SetTrail adds or replaces (by name) a trail.
func (s *Server) SetTrail(t Trail) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.trails, func(x Trail) bool { return x.Name == t.Name }); i >= 0 {
		s.trails[i] = t
		return
	}
	s.trails = append(s.trails, t)
}

// Trails returns the trails, in the order they were added.
func (s *Server) Trails() []Trail {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.trails)
}

const timeLayout = "2006-01-02T15:04:05Z"

type trailJSON struct {
	Name                string `json:"Name"`
	HomeRegion          string `json:"HomeRegion"`
	TrailRegion         string `json:"TrailRegion"`
	Region              string `json:"Region"`
	EventRW             string `json:"EventRW"`
	Status              string `json:"Status"`
	SlsProjectArn       string `json:"SlsProjectArn"`
	SlsWriteRoleArn     string `json:"SlsWriteRoleArn"`
	TrailArn            string `json:"TrailArn"`
	CreateTime          string `json:"CreateTime"`
	UpdateTime          string `json:"UpdateTime"`
	StartLoggingTime    string `json:"StartLoggingTime"`
	StopLoggingTime     string `json:"StopLoggingTime"`
	IsOrganizationTrail bool   `json:"IsOrganizationTrail"`
}

func (s *Server) describeTrails(c *rpc.Call) (any, *rpc.Error) {
	var names []string
	for n := range strings.SplitSeq(c.Get("NameList"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	out := []trailJSON{}
	for _, t := range s.Trails() {
		if len(names) > 0 && !slices.Contains(names, t.Name) {
			continue
		}
		j := trailJSON{
			Name: t.Name, HomeRegion: t.HomeRegion, TrailRegion: "All", Region: t.HomeRegion, EventRW: "All", Status: "Enable",
			SlsProjectArn:   "acs:log:" + t.HomeRegion + ":" + s.account + ":project/" + t.SlsProject,
			SlsWriteRoleArn: "acs:ram::" + s.account + ":role/aliyunserviceroleforactiontrail",
			TrailArn:        "acs:actiontrail:" + t.HomeRegion + ":" + s.account + ":trail/" + t.Name,
			CreateTime:      s.started.Format(timeLayout), UpdateTime: s.started.Format(timeLayout), StartLoggingTime: s.started.Format(timeLayout),
		}
		if t.Stopped {
			j.Status, j.StopLoggingTime = "Disable", s.started.Format(timeLayout)
		}
		out = append(out, j)
	}
	return map[string]any{"TrailList": out}, nil
}

func (s *Server) getTrailStatus(c *rpc.Call) (any, *rpc.Error) {
	name := c.Get("Name")
	if name == "" {
		return nil, rpc.Errorf(400, "MissingParameter", "The input parameter \"Name\" that is mandatory for processing this request is not supplied.")
	}
	i := slices.IndexFunc(s.Trails(), func(t Trail) bool { return t.Name == name })
	if i < 0 {
		// [UNCONFIRMED] the code and status of ActionTrail's "no such trail".
		return nil, rpc.Errorf(404, "TrailNotFoundException", "The specified trail %s does not exist.", name)
	}
	t := s.Trails()[i]
	out := map[string]any{
		"IsLogging": !t.Stopped, "StartLoggingTime": s.started.Format(timeLayout), "SlsLogStoreStatus": true,
		"LatestDeliveryTime": "", "LatestDeliveryError": "", "LatestDeliveryLogServiceTime": "", "LatestDeliveryLogServiceError": "",
		"StopLoggingTime": "", "OssBucketStatus": false,
	}
	if t.Stopped {
		out["StopLoggingTime"] = s.started.Format(timeLayout)
	}
	return out, nil
}
