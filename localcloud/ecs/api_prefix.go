package ecs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prefix lists: CreatePrefixList, ModifyPrefixList, DeletePrefixList,
// DescribePrefixLists, DescribePrefixListAttributes and
// DescribePrefixListAssociations. A rule that names a list (SourcePrefixListId
// or DestPrefixListId) matches the list's current entries (Decide), so a
// ModifyPrefixList changes what the rule lets through at once.

const (
	maxPrefixListEntries = 200 // MaxEntries is 1–200; Entry.N/AddEntry.N/RemoveEntry.N take as many
	maxPrefixListPage    = 100 // MaxResults of DescribePrefixLists and DescribePrefixListAssociations
	defaultPrefixPage    = 10
	maxPrefixListIDs     = 100 // PrefixListId.N of DescribePrefixLists
)

func plResources(id string) *writeResult {
	return &writeResult{resources: map[string][]string{"ACS::ECS::PrefixList": {id}}}
}

func errNotFoundPrefixList(id string) *apiError {
	return errf(404, "InvalidPrefixListId.NotFound", "The specified prefix list %q was not found.", id)
}

// prefixListParam is the call's PrefixListId, which is required.
func prefixListParam(c *call) (string, *apiError) {
	id := c.get("PrefixListId")
	if id == "" {
		return "", errMissing("PrefixListId")
	}
	return id, nil
}

// prefixListOf is the list id of the call's region; the caller holds s.mu.
func (s *Server) prefixListOf(c *call, id string) (*region, *prefixList, *apiError) {
	reg := s.regions[c.region]
	if reg == nil || reg.prefixLists[id] == nil {
		return nil, nil, errNotFoundPrefixList(id)
	}
	return reg, reg.prefixLists[id], nil
}

// validPrefixListName: 2 to 128 characters, starting with a letter; letters,
// digits, ':', '_', '.' and '-'; not starting with http://, https://,
// com.aliyun or com.alibabacloud.
func validPrefixListName(v string) bool {
	lv := strings.ToLower(v)
	if !validName(v, 2, 128) || strings.HasPrefix(lv, "com.aliyun") || strings.HasPrefix(lv, "com.alibabacloud") {
		return false
	}
	for _, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(":_.-", r) {
			return false
		}
	}
	return true
}

// validDescription: lo to hi characters, not starting with http:// or https://.
func validDescription(v string, lo, hi int) bool {
	n := utf8.RuneCountInString(v)
	lv := strings.ToLower(v)
	return n >= lo && n <= hi && !strings.HasPrefix(lv, "http://") && !strings.HasPrefix(lv, "https://")
}

func checkPrefixListNameAndDescription(name, desc string) *apiError {
	if name != "" && !validPrefixListName(name) {
		return errf(400, "InvalidPrefixListName.Malformed",
			"The specified PrefixListName %q is not valid: 2 to 128 characters, starting with a letter; letters, digits, ':', '_', '.' and '-'; not starting with http://, https://, com.aliyun or com.alibabacloud.", name)
	}
	if desc != "" && !validDescription(desc, 2, 256) {
		return errf(400, "InvalidDescription.Malformed", "The specified Description is not valid: 2 to 256 characters, not starting with http:// or https://.")
	}
	return nil
}

// entryParam is one Entry.N, AddEntry.N or RemoveEntry.N as sent.
type entryParam struct {
	n       int
	cidr    string
	desc    string
	hasDesc bool
}

// entryParams reads name.N.Cidr (and name.N.Description when withDesc),
// N = 1..maxPrefixListEntries, in index order.
func entryParams(c *call, name string, withDesc bool) ([]entryParam, *apiError) {
	byN := map[int]*entryParam{}
	for k, vs := range c.r.Form {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok || len(vs) == 0 {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || (field != "Cidr" && (!withDesc || field != "Description")) {
			return nil, errf(400, "InvalidParameter", "The parameter %q is not valid.", k)
		}
		if n < 1 || n > maxPrefixListEntries {
			return nil, errf(400, "InvalidParameter", "The parameter %q is not valid: %s accepts 1 to %d entries.", k, name, maxPrefixListEntries)
		}
		e := byN[n]
		if e == nil {
			e = &entryParam{n: n}
			byN[n] = e
		}
		if field == "Cidr" {
			e.cidr = vs[0]
		} else if vs[0] != "" {
			e.desc, e.hasDesc = vs[0], true
		}
	}
	out := make([]entryParam, 0, len(byN))
	for _, n := range sortedKeys(byN) {
		e := byN[n]
		if e.cidr == "" {
			return nil, errMissing(fmt.Sprintf("%s.%d.Cidr", name, n))
		}
		if e.hasDesc && !validDescription(e.desc, 2, 32) {
			return nil, errf(400, "InvalidDescription.Malformed",
				"The specified %s.%d.Description is not valid: 2 to 32 characters, not starting with http:// or https://.", name, n)
		}
		out = append(out, *e)
	}
	return out, nil
}

// parseEntryCIDR parses the CIDR block of an entry of a list of the given
// family: a network in standard form (10.0.0.0/8, not 10.0.0.1/8) or a single
// address, which becomes a /32 (IPv4) or /128 (IPv6).
func parseEntryCIDR(param, v, family string) (netip.Prefix, *apiError) {
	malformed := errf(400, "InvalidCidr.Malformed",
		"The specified %s (%q) is not a valid CIDR block: give the network address (10.0.0.0/8, not 10.0.0.1/8) or a single IP address.", param, v)
	var p netip.Prefix
	if strings.Contains(v, "/") {
		var err error
		if p, err = netip.ParsePrefix(v); err != nil || p.Addr().Zone() != "" || p != p.Masked() {
			return netip.Prefix{}, malformed
		}
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, malformed
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4() != (family == "IPv4") {
		return netip.Prefix{}, errf(400, "InvalidCidr.AddressFamilyMismatch",
			"The specified %s (%q) is not an %s CIDR block: a prefix list holds one address family.", param, v, family)
	}
	return p, nil
}

// parseEntries parses entry CIDRs for a list of family and refuses the same
// network twice (10.0.0.1 and 10.0.0.1/32 are the same).
func parseEntries(name string, es []entryParam, family string) ([]netip.Prefix, *apiError) {
	out := make([]netip.Prefix, 0, len(es))
	for _, e := range es {
		p, ae := parseEntryCIDR(fmt.Sprintf("%s.%d.Cidr", name, e.n), e.cidr, family)
		if ae != nil {
			return nil, ae
		}
		if slices.Contains(out, p) {
			return nil, errf(400, "InvalidCidr.Duplicate", "The CIDR block %s is specified more than once in %s.", p, name)
		}
		out = append(out, p)
	}
	return out, nil
}

func errTooManyEntries(n, maxEntries int) *apiError {
	return errf(400, "InvalidParameter.EntriesExceedMaxEntries",
		"The prefix list would hold %d entries, more than its MaxEntries %d (which cannot be changed after creation).", n, maxEntries)
}

func (s *Server) createPrefixList(c *call) (any, *writeResult, *apiError) {
	name, desc, family := c.get("PrefixListName"), c.get("Description"), c.get("AddressFamily")
	if name == "" {
		return nil, nil, errMissing("PrefixListName")
	}
	if e := checkPrefixListNameAndDescription(name, desc); e != nil {
		return nil, nil, e
	}
	switch family {
	case "":
		return nil, nil, errMissing("AddressFamily")
	case "IPv4", "IPv6":
	default:
		return nil, nil, errf(400, "InvalidParameter.AddressFamily", "The specified AddressFamily %q is not valid: IPv4 or IPv6.", family)
	}
	me := c.get("MaxEntries")
	if me == "" {
		return nil, nil, errMissing("MaxEntries")
	}
	maxEntries, err := strconv.Atoi(me)
	if err != nil || maxEntries < 1 || maxEntries > maxPrefixListEntries {
		return nil, nil, errf(400, "InvalidParameter.MaxEntries", "The specified MaxEntries %q is not valid: an integer from 1 to %d.", me, maxPrefixListEntries)
	}
	es, e := entryParams(c, "Entry", true)
	if e != nil {
		return nil, nil, e
	}
	cidrs, e := parseEntries("Entry", es, family)
	if e != nil {
		return nil, nil, e
	}
	if len(cidrs) > maxEntries {
		return nil, nil, errTooManyEntries(len(cidrs), maxEntries)
	}
	pl := &prefixList{name: name, desc: desc, family: family, maxEntries: maxEntries}
	for i, p := range cidrs {
		pl.entries = append(pl.entries, plEntry{cidr: p, desc: es[i].desc})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	reg := s.regionFor(c.region, true)
	tok := c.get("ClientToken")
	if id := reg.tokens["pl:"+tok]; tok != "" && id != "" && reg.prefixLists[id] != nil {
		return createPrefixListResponse{c.requestID, id}, plResources(id), nil
	}
	pl.id, pl.created, pl.seq = newID("pl-", reg.id), s.nowUnix(), s.nextSeq()
	reg.prefixLists[pl.id] = pl
	if tok != "" {
		reg.tokens["pl:"+tok] = pl.id
	}
	return createPrefixListResponse{c.requestID, pl.id}, plResources(pl.id), nil
}

type createPrefixListResponse struct {
	RequestID    string `json:"RequestId"`
	PrefixListID string `json:"PrefixListId"`
}

// modifyPrefixList renames, redescribes and adds, re-describes or removes
// entries, all or nothing. AddEntry of a CIDR the list has changes its
// description; a CIDR cannot be both added and removed; RemoveEntry of a CIDR
// the list lacks is refused; the result must fit MaxEntries.
func (s *Server) modifyPrefixList(c *call) (any, *writeResult, *apiError) {
	id, e := prefixListParam(c)
	if e != nil {
		return nil, nil, e
	}
	name, desc := c.get("PrefixListName"), c.get("Description")
	if e := checkPrefixListNameAndDescription(name, desc); e != nil {
		return nil, nil, e
	}
	adds, e := entryParams(c, "AddEntry", true)
	if e != nil {
		return nil, nil, e
	}
	removes, e := entryParams(c, "RemoveEntry", false)
	if e != nil {
		return nil, nil, e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	_, pl, e := s.prefixListOf(c, id)
	if e != nil {
		return nil, nil, e
	}
	addP, e := parseEntries("AddEntry", adds, pl.family)
	if e != nil {
		return nil, nil, e
	}
	remP, e := parseEntries("RemoveEntry", removes, pl.family)
	if e != nil {
		return nil, nil, e
	}
	entries := slices.Clone(pl.entries)
	for _, p := range remP {
		if slices.Contains(addP, p) {
			return nil, nil, errf(400, "InvalidCidr.Duplicate", "The CIDR block %s cannot be both added (AddEntry) and removed (RemoveEntry).", p)
		}
		i := pl.find(p)
		if i < 0 {
			return nil, nil, errf(404, "InvalidPrefixListEntry.NotFound", "The CIDR block %s to remove is not an entry of prefix list %s.", p, pl.id)
		}
		entries = slices.DeleteFunc(entries, func(x plEntry) bool { return x.cidr == pl.entries[i].cidr })
	}
	for i, p := range addP {
		if j := slices.IndexFunc(entries, func(x plEntry) bool { return x.cidr.Masked() == p }); j >= 0 {
			if adds[i].hasDesc {
				entries[j].desc = adds[i].desc
			}
			continue
		}
		entries = append(entries, plEntry{cidr: p, desc: adds[i].desc})
	}
	if len(entries) > pl.maxEntries {
		return nil, nil, errTooManyEntries(len(entries), pl.maxEntries)
	}
	pl.entries = entries
	if name != "" {
		pl.name = name
	}
	if desc != "" {
		pl.desc = desc
	}
	return requestIDOnly{c.requestID}, plResources(pl.id), nil
}

// deletePrefixList deletes a list no security group rule references.
func (s *Server) deletePrefixList(c *call) (any, *writeResult, *apiError) {
	id, e := prefixListParam(c)
	if e != nil {
		return nil, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, _, e := s.prefixListOf(c, id)
	if e != nil {
		return nil, nil, e
	}
	if as := reg.associations(id); len(as) > 0 {
		ids := make([]string, len(as))
		for i, g := range as {
			ids[i] = g.id
		}
		return nil, nil, errf(400, "NotAllowed.AssociationExist",
			"The specified prefix list has associated resources: security groups %s reference %s (see DescribePrefixListAssociations).", strings.Join(ids, ", "), id)
	}
	delete(reg.prefixLists, id)
	for tok, v := range reg.tokens {
		if v == id {
			delete(reg.tokens, tok)
		}
	}
	return requestIDOnly{c.requestID}, plResources(id), nil
}

// prefixPager reads MaxResults (1–100, default 10) and NextToken of kind.
func prefixPager(c *call, kind string) (pager, *apiError) {
	return tokenPager(c, kind, defaultPrefixPage, 1, maxPrefixListPage)
}

type apiPrefixList struct {
	PrefixListID     string `json:"PrefixListId"`
	PrefixListName   string `json:"PrefixListName"`
	Description      string `json:"Description"`
	AddressFamily    string `json:"AddressFamily"`
	MaxEntries       int    `json:"MaxEntries"`
	CreationTime     string `json:"CreationTime"`
	AssociationCount int    `json:"AssociationCount"`
}

// describePrefixLists lists a region's prefix lists in creation order,
// filtered by PrefixListId.N, PrefixListName (exact) and AddressFamily.
func (s *Server) describePrefixLists(c *call) (any, *writeResult, *apiError) {
	ids, e := repeated(c, "PrefixListId", maxPrefixListIDs)
	if e != nil {
		return nil, nil, e
	}
	family, name := c.get("AddressFamily"), c.get("PrefixListName")
	if family != "" && family != "IPv4" && family != "IPv6" {
		return nil, nil, errf(400, "InvalidParameter.AddressFamily", "The specified AddressFamily %q is not valid: IPv4 or IPv6.", family)
	}
	pg, e := prefixPager(c, "pl")
	if e != nil {
		return nil, nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	reg := s.regions[c.region]
	if reg == nil {
		reg = newRegion(c.region) // a known region the world does not mention: empty
	}
	var lists []*prefixList
	for _, pl := range reg.prefixLists {
		if (len(ids) == 0 || slices.Contains(ids, pl.id)) && (family == "" || pl.family == family) && (name == "" || pl.name == name) {
			lists = append(lists, pl)
		}
	}
	slices.SortFunc(lists, func(a, b *prefixList) int { return cmp.Compare(a.seq, b.seq) })
	lists, next := page(pg, lists, func(pl *prefixList) string { return strconv.FormatUint(pl.seq, 10) }, lessSeq, "pl")
	out := make([]apiPrefixList, 0, len(lists))
	for _, pl := range lists {
		out = append(out, apiPrefixList{pl.id, pl.name, pl.desc, pl.family, pl.maxEntries, fmtTime(pl.created), len(reg.associations(pl.id))})
	}
	return describePrefixListsResponse{c.requestID, next, apiPrefixLists{out}}, nil, nil
}

type apiPrefixLists struct {
	PrefixList []apiPrefixList `json:"PrefixList"`
}

type describePrefixListsResponse struct {
	RequestID   string         `json:"RequestId"`
	NextToken   string         `json:"NextToken"`
	PrefixLists apiPrefixLists `json:"PrefixLists"`
}

func (s *Server) describePrefixListAttributes(c *call) (any, *writeResult, *apiError) {
	id, e := prefixListParam(c)
	if e != nil {
		return nil, nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, pl, e := s.prefixListOf(c, id)
	if e != nil {
		return nil, nil, e
	}
	type entry struct {
		Cidr        string `json:"Cidr"`
		Description string `json:"Description"`
	}
	type entries struct {
		Entry []entry `json:"Entry"`
	}
	es := entries{Entry: make([]entry, 0, len(pl.entries))}
	for _, e := range pl.entries {
		es.Entry = append(es.Entry, entry{e.cidr.String(), e.desc})
	}
	return struct {
		RequestID      string  `json:"RequestId"`
		PrefixListID   string  `json:"PrefixListId"`
		PrefixListName string  `json:"PrefixListName"`
		Description    string  `json:"Description"`
		AddressFamily  string  `json:"AddressFamily"`
		MaxEntries     int     `json:"MaxEntries"`
		CreationTime   string  `json:"CreationTime"`
		Entries        entries `json:"Entries"`
	}{c.requestID, pl.id, pl.name, pl.desc, pl.family, pl.maxEntries, fmtTime(pl.created), es}, nil, nil
}

type apiPrefixListAssociation struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string `json:"ResourceType"`
}

// describePrefixListAssociations lists the security groups with a rule that
// references the list, in creation order.
func (s *Server) describePrefixListAssociations(c *call) (any, *writeResult, *apiError) {
	id, e := prefixListParam(c)
	if e != nil {
		return nil, nil, e
	}
	pg, e := prefixPager(c, "pla")
	if e != nil {
		return nil, nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	reg, _, e := s.prefixListOf(c, id)
	if e != nil {
		return nil, nil, e
	}
	groups, next := page(pg, reg.associations(id), func(g *group) string { return strconv.FormatUint(g.seq, 10) }, lessSeq, "pla")
	out := make([]apiPrefixListAssociation, 0, len(groups))
	for _, g := range groups {
		out = append(out, apiPrefixListAssociation{g.id, "securitygroup"})
	}
	type associations struct {
		PrefixListAssociation []apiPrefixListAssociation `json:"PrefixListAssociation"`
	}
	return struct {
		RequestID              string       `json:"RequestId"`
		NextToken              string       `json:"NextToken"`
		PrefixListAssociations associations `json:"PrefixListAssociations"`
	}{c.requestID, next, associations{out}}, nil, nil
}
