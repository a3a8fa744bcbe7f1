package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Policy is a parsed policy file. Get one from [Default], [Parse] or [Load];
// a Policy built by hand must pass [Policy.Validate].
type Policy struct {
	// Services is the catalog of sensitive services by name.
	Services map[string]Service `yaml:"services"`
	// InternetAllowedPorts may be open to the internet (tcp and udp).
	InternetAllowedPorts []int `yaml:"internetAllowedPorts"`
	// OtherPorts is the severity of any other port open to the internet
	// (neither a service nor allowed); SeverityNone ignores them.
	OtherPorts Severity `yaml:"otherPorts"`
	// Thresholds define "internet-wide".
	Thresholds Thresholds `yaml:"thresholds"`
	// Egress: judge egress rules too.
	Egress bool `yaml:"egress"`
	// Exemptions name where exemptions are written.
	Exemptions Exemptions `yaml:"exemptions"`
	// Modes per function.
	Modes Modes `yaml:"modes"`
	// Enforce lists the severities each function's enforce mode changes.
	Enforce Enforce `yaml:"enforce"`
	// Scopes override Modes and Enforce by security-group tag; the first
	// that matches applies.
	Scopes []Scope `yaml:"scopes,omitempty"`
	// MaxChangesPerRun caps the rule changes of one function run.
	MaxChangesPerRun int `yaml:"maxChangesPerRun"`
	// MaxChangesPerMinute caps the rule changes of a function per minute,
	// across all its instances: the pace. Changes over it wait, and are
	// carried out in the next minutes, never dropped.
	MaxChangesPerMinute int `yaml:"maxChangesPerMinute"`
	// Replace, when set, lets the guard re-authorize a revoked rule for
	// trusted sources.
	Replace *Replace `yaml:"replace,omitempty"`
	// Replication declares replication sets (replication.go); the
	// replicator's tags on replica groups are the other way to declare them.
	Replication *Replication `yaml:"replication,omitempty"`

	src *source // where the policy came from, for error messages
}

// Service is one sensitive service.
type Service struct {
	Ports     []int    `yaml:"ports"`
	Protocols []string `yaml:"protocols"` // "tcp", "udp"
	Severity  Severity `yaml:"severity"`
	// Disabled drops a service of the default catalog.
	Disabled bool `yaml:"disabled,omitempty"`
}

// HasProtocol reports whether the service runs over proto ("tcp" or "udp").
func (s Service) HasProtocol(proto string) bool { return slices.Contains(s.Protocols, proto) }

// Thresholds define internet-wide: the public addresses that can reach a port
// outnumber half of a /IPv4PrefixLen (IPv4) or /IPv6PrefixLen (IPv6).
type Thresholds struct {
	IPv4PrefixLen int `yaml:"ipv4PrefixLen"` // 0..32, default 8
	IPv6PrefixLen int `yaml:"ipv6PrefixLen"` // 0..128, default 16
}

// Exemptions name the tag key and the description-marker keyword, and govern
// how long an exemption may last.
type Exemptions struct {
	TagKey string `yaml:"tagKey"`
	Marker string `yaml:"marker"`
	// MaxDays is the longest an exemption may last, from now (1..3650,
	// default 90); see [Policy.CapUntil].
	MaxDays int `yaml:"maxDays"`
	// WarnDays: announce exemptions expiring within this many days
	// (0..MaxDays, default 7; 0 never); see [Policy.ExpiringSoon].
	WarnDays int `yaml:"warnDays"`
}

// Replace lists the trusted sources a revoked rule may be re-authorized for.
type Replace struct {
	TrustedCIDRs      []string `yaml:"trustedCidrs"`
	TrustedPrefixList string   `yaml:"trustedPrefixList"`
}

// TrustedPrefixes returns TrustedCIDRs parsed and masked; invalid entries
// (which Validate reports) are skipped.
func (r Replace) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range r.TrustedCIDRs {
		if p, err := parseCIDR(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Mode is what a function does with a finding.
type Mode string

const (
	ModeEnforce Mode = "enforce" // change the rules
	ModeNotify  Mode = "notify"  // tell people, change nothing
	ModeDryRun  Mode = "dry-run" // log what would be done, tell no one
)

// Severity of a finding.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityNone     Severity = "none" // only for OtherPorts: do not report
)

// Rank orders severities: critical 4, high 3, medium 2, low 1, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// Default returns a fresh copy of the embedded default policy.
func Default() *Policy {
	p, err := parse(defaultYAML, "default.yaml", &Policy{})
	if err != nil {
		panic("policy: embedded default.yaml is invalid: " + err.Error())
	}
	return p
}

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return Parse(data, filepath.Base(path))
}

// Parse parses a policy file named name (used in error messages) on top of the
// default policy, strictly: unknown keys, duplicate keys, values of the wrong
// type and invalid values are errors of the form
// `policy.yaml:12: unknown key "sevrity"`. An empty file is the default policy.
func Parse(data []byte, name string) (*Policy, error) {
	return parse(data, name, Default())
}

// parse decodes data over base.
func parse(data []byte, name string, p *Policy) (*Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err, nil)
	}
	src := &source{name: name}
	src.index(&root, "")

	if root.Kind != 0 { // 0: empty document
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(p); err != nil {
			return nil, yamlError(name, err, src)
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: more than one YAML document", name)
		}
	}
	for n, s := range p.Services {
		if s.Disabled {
			delete(p.Services, n)
			src.disabled = append(src.disabled, n)
		}
	}
	p.src = src
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Name is the file name the policy was parsed from ("default.yaml" for the
// default), or "" for a policy built by hand.
func (p *Policy) Name() string {
	if p.src == nil {
		return ""
	}
	return p.src.name
}

var (
	lineRE     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	dupKeyRE   = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	valueRE    = regexp.MustCompile("`([^`]*)`")
)

var friendlyTypes = strings.NewReplacer(
	"into policy.Service", "into a service (ports, protocols, severity)",
	"into map[string]policy.Service", "into a mapping of services",
	"into policy.Thresholds", "into a mapping (ipv4PrefixLen, ipv6PrefixLen)",
	"into policy.Exemptions", "into a mapping (tagKey, marker, maxDays, warnDays)",
	"into policy.Modes", "into a mapping of functions to modes (guard, reaper, replicator)",
	"into policy.Enforce", "into a mapping of functions to severity lists (guard, reaper, replicator)",
	"into []policy.Severity", "into a list of severities",
	"into []policy.Scope", "into a list of scopes",
	"into policy.Scope", "into a scope (match, modes, enforce)",
	"into map[string]string", "into a mapping of tag keys to values",
	"into policy.Replace", "into a mapping (trustedCidrs, trustedPrefixList)",
	"into policy.Replication", "into a mapping (sets)",
	"into []policy.ReplicationSet", "into a list of replication sets",
	"into policy.ReplicationSet", "into a replication set (name, mode, primary, replicas)",
	"into []policy.ReplicationReplica", "into a list of replicas",
	"into policy.ReplicationReplica", "into a replica (group, map, lookup)",
	"into policy.Severity", "into a severity",
	"into policy.Mode", "into a mode",
	"into []int", "into a list of ports",
	"into []string", "into a list of strings",
	"into int", "into a number",
	"into bool", "into true or false",
)

// yamlError rewrites go.yaml.in/yaml/v3's errors as "name:line: …", naming the key.
func yamlError(name string, err error, src *source) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, m := range msgs {
		sm := lineRE.FindStringSubmatch(m)
		if sm == nil {
			errs = append(errs, fmt.Errorf("%s: %s", name, strings.TrimPrefix(m, "yaml: ")))
			continue
		}
		line, _ := strconv.Atoi(sm[1])
		msg := sm[2]
		switch {
		case notFoundRE.MatchString(msg):
			nf := notFoundRE.FindStringSubmatch(msg)
			key := nf[1]
			where := ""
			if parent := src.parentOfKey(line, key); parent != "" {
				where = " in " + parent
			}
			if nf[2] == "policy.Modes" || nf[2] == "policy.Enforce" {
				errs = append(errs, fmt.Errorf("%s:%d: unknown function %q%s (want guard, reaper or replicator)", name, line, key, where))
				break
			}
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q%s", name, line, key, where))
		case dupKeyRE.MatchString(msg):
			d := dupKeyRE.FindStringSubmatch(msg)
			errs = append(errs, fmt.Errorf("%s:%d: duplicate key %q (first at line %s)", name, line, d[1], d[2]))
		case strings.Contains(msg, "into policy.Policy"):
			errs = append(errs, fmt.Errorf("%s:%d: the policy must be a mapping of keys (see the default policy)", name, line))
		default:
			msg = friendlyTypes.Replace(msg)
			val := ""
			if v := valueRE.FindStringSubmatch(msg); v != nil {
				val = v[1]
			}
			if path := src.pathAt(line, val); path != "" {
				msg = path + ": " + msg
			}
			errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, msg))
		}
	}
	return errors.Join(errs...)
}

// source remembers where each key of a parsed file was, to put line numbers
// into validation errors.
type source struct {
	name     string
	nodes    []located
	disabled []string
}

type located struct {
	path  string
	key   string // last path element for mapping keys, "" for sequence items
	line  int
	value string // scalar value, if any
}

func (s *source) index(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			s.index(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			s.nodes = append(s.nodes, located{path: child, key: k.Value, line: k.Line, value: scalar(v)})
			s.index(v, child)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			child := fmt.Sprintf("%s[%d]", path, i)
			s.nodes = append(s.nodes, located{path: child, line: c.Line, value: scalar(c)})
			s.index(c, child)
		}
	}
}

func scalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// lineOf returns the line of path, or of its nearest ancestor in the file.
func (s *source) lineOf(path string) int {
	if s == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		for _, n := range s.nodes {
			if n.path == p {
				return n.line
			}
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// parentOfKey names the mapping holding key at line.
func (s *source) parentOfKey(line int, key string) string {
	if s == nil {
		return ""
	}
	for _, n := range s.nodes {
		if n.line == line && n.key == key {
			return parentPath(n.path)
		}
	}
	return ""
}

// pathAt names the key at line whose value is val (or the first at line).
func (s *source) pathAt(line int, val string) string {
	if s == nil {
		return ""
	}
	first := ""
	for _, n := range s.nodes {
		if n.line != line {
			continue
		}
		if n.value != "" && n.value == val {
			return n.path
		}
		if first == "" {
			first = n.path
		}
	}
	return first
}
