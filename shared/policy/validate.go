package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// FieldError is one invalid value, named by its path in the file
// ("services.ssh.severity", "internetAllowedPorts[1]").
type FieldError struct {
	File  string // file name, "" for a policy built by hand
	Line  int    // 0 when unknown
	Field string
	Msg   string
	// Err, when set, is the sentinel the problem is an instance of
	// (e.g. [ErrInternetWideTrust]), for errors.Is.
	Err error
}

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// ErrInternetWideTrust marks a replace.trustedCidrs entry (or the entries
// together) that is itself internet-wide by the policy's thresholds: the
// guard would revoke the rule it re-creates for it, again and again.
var ErrInternetWideTrust = errors.New("trusted sources are internet-wide")

func (e *FieldError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
	}
	return e.Field + ": " + e.Msg
}

// Validate checks every field and returns all problems joined, each a
// *FieldError with the file and line when the policy was parsed from a file.
func (p *Policy) Validate() error {
	var errs []error
	badErr := func(field string, err error, format string, a ...any) {
		fe := &FieldError{Field: field, Msg: fmt.Sprintf(format, a...), Err: err}
		if p.src != nil {
			fe.File, fe.Line = p.src.name, p.src.lineOf(field)
		}
		errs = append(errs, fe)
	}
	bad := func(field, format string, a ...any) { badErr(field, nil, format, a...) }

	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		s := p.Services[name]
		f := "services." + name
		if !validName(name) {
			bad(f, "service name %q: use lowercase letters, digits, '-', '_' and '.'", name)
		}
		if s.Disabled {
			continue
		}
		if len(s.Ports) == 0 {
			bad(f+".ports", "at least one port is required")
		}
		for i, port := range s.Ports {
			if port < 1 || port > 65535 {
				bad(fmt.Sprintf("%s.ports[%d]", f, i), "port %d out of range 1..65535", port)
			} else if slices.Index(s.Ports, port) != i {
				bad(fmt.Sprintf("%s.ports[%d]", f, i), "port %d listed twice", port)
			}
		}
		if len(s.Protocols) == 0 {
			bad(f+".protocols", "at least one protocol is required (tcp, udp)")
		}
		for i, proto := range s.Protocols {
			switch {
			case proto != "tcp" && proto != "udp":
				bad(fmt.Sprintf("%s.protocols[%d]", f, i), "unknown protocol %q (want tcp or udp)", proto)
			case slices.Index(s.Protocols, proto) != i:
				bad(fmt.Sprintf("%s.protocols[%d]", f, i), "protocol %q listed twice", proto)
			}
		}
		if s.Severity == "" {
			bad(f+".severity", "required (critical, high, medium or low)")
		} else if s.Severity.Rank() == 0 {
			bad(f+".severity", "unknown severity %q (want critical, high, medium or low)", s.Severity)
		}
	}
	for i, port := range p.InternetAllowedPorts {
		if port < 1 || port > 65535 {
			bad(fmt.Sprintf("internetAllowedPorts[%d]", i), "port %d out of range 1..65535", port)
		}
	}
	if p.OtherPorts != SeverityNone && p.OtherPorts.Rank() == 0 {
		bad("otherPorts", "unknown severity %q (want critical, high, medium, low or none)", p.OtherPorts)
	}
	if n := p.Thresholds.IPv4PrefixLen; n < 0 || n > 32 {
		bad("thresholds.ipv4PrefixLen", "%d out of range 0..32", n)
	}
	if n := p.Thresholds.IPv6PrefixLen; n < 0 || n > 128 {
		bad("thresholds.ipv6PrefixLen", "%d out of range 0..128", n)
	}
	if err := checkTagKey(p.Exemptions.TagKey); err != nil {
		bad("exemptions.tagKey", "%v", err)
	}
	if m := p.Exemptions.Marker; m == "" || strings.ContainsAny(m, " \t\r\n[]\"=;") {
		bad("exemptions.marker", "%q: want a non-empty word without spaces, brackets, quotes, '=' or ';'", m)
	}
	if n := p.Exemptions.MaxDays; n < 1 || n > 3650 {
		bad("exemptions.maxDays", "%d out of range 1..3650 (days an exemption may last)", n)
	} else if w := p.Exemptions.WarnDays; w < 0 || w > n {
		bad("exemptions.warnDays", "%d out of range 0..%d (maxDays): lower warnDays or raise maxDays", w, n)
	}
	for _, fn := range functions {
		checkMode(bad, "modes."+string(fn), p.Modes.Of(fn), false)
		checkSeverities(bad, "enforce."+string(fn), p.Enforce.Of(fn), false)
	}
	p.validateScopes(bad)
	if p.MaxChangesPerMinute < 1 {
		bad("maxChangesPerMinute", "%d: want at least 1", p.MaxChangesPerMinute)
	}
	if p.MaxChangesPerRun < 1 {
		bad("maxChangesPerRun", "%d: want at least 1", p.MaxChangesPerRun)
	}
	if r := p.Replace; r != nil {
		if len(r.TrustedCIDRs) == 0 && r.TrustedPrefixList == "" {
			bad("replace", "give trustedCidrs or trustedPrefixList (or leave replace out)")
		}
		p.validateTrusted(bad, badErr)
		if pl := r.TrustedPrefixList; pl != "" && (!strings.HasPrefix(pl, "pl-") || len(pl) < 4 || strings.ContainsAny(pl, " \t/")) {
			bad("replace.trustedPrefixList", "%q is not a prefix list id (pl-…)", pl)
		}
	}
	return errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// checkTagKey applies the ECS tag-key rules.
func checkTagKey(k string) error {
	lk := strings.ToLower(k)
	switch {
	case k == "":
		return errors.New("empty tag key")
	case len(k) > 128:
		return fmt.Errorf("tag key %q longer than 128 characters", k)
	case strings.HasPrefix(lk, "acs:") || strings.HasPrefix(lk, "aliyun"):
		return fmt.Errorf("tag key %q may not start with acs: or aliyun", k)
	case strings.Contains(lk, "http://") || strings.Contains(lk, "https://"):
		return fmt.Errorf("tag key %q may not contain http:// or https://", k)
	}
	return nil
}

// parseCIDR parses a CIDR or a plain address, masked.
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

type badFunc func(field, format string, a ...any)

// checkMode checks one mode; in a scope, "" (not overridden) is fine.
func checkMode(bad badFunc, field string, m Mode, inScope bool) {
	switch m {
	case ModeEnforce, ModeNotify, ModeDryRun:
	case "":
		if !inScope {
			bad(field, "required (enforce, notify or dry-run)")
		}
	default:
		bad(field, "unknown mode %q (want enforce, notify or dry-run)", m)
	}
}

// checkSeverities checks one enforce list; in a scope, nil (not overridden)
// is fine, but an empty list never is: it would make enforce mean notify.
func checkSeverities(bad badFunc, field string, list []Severity, inScope bool) {
	if list == nil && inScope {
		return
	}
	if len(list) == 0 {
		bad(field, "empty: list the severities enforce changes (critical, high, medium, low), or set the mode to notify")
		return
	}
	for i, s := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case s.Rank() == 0:
			bad(f, "unknown severity %q (want critical, high, medium or low)", s)
		case slices.Index(list, s) != i:
			bad(f, "severity %q listed twice", s)
		}
	}
}

func (p *Policy) validateScopes(bad badFunc) {
	for i, sc := range p.Scopes {
		f := fmt.Sprintf("scopes[%d]", i)
		if len(sc.Match) == 0 {
			bad(f+".match", "empty: give the tags (key: value) a group must carry for this scope to apply")
		}
		keys := make([]string, 0, len(sc.Match))
		for k := range sc.Match {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := checkTagKey(k); err != nil {
				bad(f+".match."+k, "%v", err)
			}
			if v := sc.Match[k]; len(v) > 128 {
				bad(f+".match."+k, "tag value longer than 128 characters")
			}
		}
		if sc.Modes == (Modes{}) && sc.Enforce.Guard == nil && sc.Enforce.Reaper == nil && sc.Enforce.Replicator == nil {
			bad(f, "no modes and no enforce: say what this scope changes (e.g. modes: {guard: notify})")
		}
		for _, fn := range functions {
			checkMode(bad, f+".modes."+string(fn), sc.Modes.Of(fn), true)
			checkSeverities(bad, f+".enforce."+string(fn), sc.Enforce.Of(fn), true)
		}
		if len(sc.Match) == 0 {
			continue
		}
		for j := range i {
			if m := p.Scopes[j].Match; len(m) > 0 && subsetOf(m, sc.Match) {
				bad(f+".match", "never applies: scopes[%d] matches every group this one matches and comes first (the first matching scope wins)", j)
				break
			}
		}
	}
}

// subsetOf reports whether every key of a is in b with the same value.
func subsetOf(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// validateTrusted refuses invalid trusted CIDRs and trusted CIDRs that are
// internet-wide, one by one or together (per family), by p.Thresholds. With
// thresholds out of range (reported already) internet-wide is undefined and
// only the syntax is checked.
func (p *Policy) validateTrusted(bad badFunc, badErr func(string, error, string, ...any)) {
	t := p.Thresholds
	judge := t.IPv4PrefixLen >= 0 && t.IPv4PrefixLen <= 32 && t.IPv6PrefixLen >= 0 && t.IPv6PrefixLen <= 128
	var valid [2][]netip.Prefix
	var alone [2]bool // some entry of the family is internet-wide alone
	for i, c := range p.Replace.TrustedCIDRs {
		f := fmt.Sprintf("replace.trustedCidrs[%d]", i)
		pfx, err := parseCIDR(c)
		if err != nil {
			bad(f, "%v", err)
			continue
		}
		fam := prefixFamily(pfx)
		valid[fam] = append(valid[fam], pfx)
		if judge && t.wide(fam, []netip.Prefix{pfx}) {
			alone[fam] = true
			badErr(f, ErrInternetWideTrust, "%s is internet-wide (%s): the guard would revoke the rule it re-creates for it; trust narrower sources",
				c, p.wideText(fam))
		}
	}
	for fam, ps := range valid {
		if judge && !alone[fam] && len(ps) > 1 && t.wide(fam, ps) {
			var list []string // the entries that hold public addresses
			for _, pfx := range ps {
				if publicAddresses(fam, []netip.Prefix{pfx}).Sign() > 0 {
					list = append(list, pfx.String())
				}
			}
			badErr("replace.trustedCidrs", ErrInternetWideTrust, "%s together are internet-wide (%s): the guard would revoke the rules it re-creates for them; trust narrower sources",
				strings.Join(list, ", "), p.wideText(fam))
		}
	}
}

func (p *Policy) wideText(fam int) string {
	if fam == fam4 {
		return fmt.Sprintf("more public addresses than half of a /%d, thresholds.ipv4PrefixLen", p.Thresholds.IPv4PrefixLen)
	}
	return fmt.Sprintf("more public addresses than half of a /%d, thresholds.ipv6PrefixLen", p.Thresholds.IPv6PrefixLen)
}
