// Package stats counts what localcloud served: API calls per service, action and
// caller (with errors), and function invocations. The least-privilege test reads
// it to learn which actions each function's role really used.
package stats

import (
	"sort"
	"sync"
)

// Call is one counted (service, action, caller) row.
type Call struct {
	Service string `json:"service"` // "ecs", "sls", "dingtalk", ...
	Action  string `json:"action"`  // API action, e.g. "RevokeSecurityGroup", "PutLogs"
	Caller  string `json:"caller"`  // RAM user name, or role name for assumed-role callers
	Count   int    `json:"count"`
	Errors  int    `json:"errors"`
	// ErrorCodes counts error responses by code.
	ErrorCodes map[string]int `json:"errorCodes,omitempty"`
}

// Snapshot is the JSON served by GET /_localcloud/stats.
type Snapshot struct {
	Calls       []Call         `json:"calls"`
	Invocations map[string]int `json:"invocations"` // per function
	Failures    map[string]int `json:"failures"`    // failed invocations per function
}

type key struct{ service, action, caller string }

// Stats is safe for concurrent use. The zero value is ready.
type Stats struct {
	mu          sync.Mutex
	calls       map[key]*Call
	invocations map[string]int
	failures    map[string]int
}

// Record counts one call; errCode is empty for a success.
func (s *Stats) Record(service, action, caller, errCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[key]*Call{}
	}
	k := key{service, action, caller}
	c := s.calls[k]
	if c == nil {
		c = &Call{Service: service, Action: action, Caller: caller}
		s.calls[k] = c
	}
	c.Count++
	if errCode != "" {
		c.Errors++
		if c.ErrorCodes == nil {
			c.ErrorCodes = map[string]int{}
		}
		c.ErrorCodes[errCode]++
	}
}

// Invocation counts one finished invocation of function.
func (s *Stats) Invocation(function string, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.invocations == nil {
		s.invocations = map[string]int{}
		s.failures = map[string]int{}
	}
	s.invocations[function]++
	if failed {
		s.failures[function]++
	}
}

// Snapshot returns a copy, rows sorted by service, action, caller.
func (s *Stats) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Calls: []Call{}, Invocations: map[string]int{}, Failures: map[string]int{}}
	for _, c := range s.calls {
		cc := *c
		if c.ErrorCodes != nil {
			cc.ErrorCodes = map[string]int{}
			for k, v := range c.ErrorCodes {
				cc.ErrorCodes[k] = v
			}
		}
		out.Calls = append(out.Calls, cc)
	}
	sort.Slice(out.Calls, func(i, j int) bool {
		a, b := out.Calls[i], out.Calls[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Caller < b.Caller
	})
	for k, v := range s.invocations {
		out.Invocations[k] = v
	}
	for k, v := range s.failures {
		out.Failures[k] = v
	}
	return out
}

// Count returns how many calls matched; empty arguments match anything.
func (s Snapshot) Count(service, action, caller string) int {
	n := 0
	for _, c := range s.Calls {
		if (service == "" || c.Service == service) && (action == "" || c.Action == action) && (caller == "" || c.Caller == caller) {
			n += c.Count
		}
	}
	return n
}

// Since is s minus before, row by row: the calls made in between (rows
// with none left out, error codes dropped), most frequent first.
func (s Snapshot) Since(before Snapshot) Snapshot {
	prev := map[key]Call{}
	for _, r := range before.Calls {
		prev[key{r.Service, r.Action, r.Caller}] = r
	}
	var out Snapshot
	for _, r := range s.Calls {
		p := prev[key{r.Service, r.Action, r.Caller}]
		r.Count -= p.Count
		r.Errors -= p.Errors
		if r.Count > 0 {
			r.ErrorCodes = nil
			out.Calls = append(out.Calls, r)
		}
	}
	sort.Slice(out.Calls, func(i, j int) bool { return out.Calls[i].Count > out.Calls[j].Count })
	return out
}
