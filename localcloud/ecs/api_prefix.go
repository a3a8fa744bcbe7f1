package ecs

func (s *Server) describePrefixListAttributes(c *call) (any, *writeResult, *apiError) {
	id := c.get("PrefixListId")
	if id == "" {
		return nil, nil, errMissing("PrefixListId")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var pl *prefixList
	if reg := s.regions[c.region]; reg != nil {
		pl = reg.prefixLists[id]
	}
	if pl == nil {
		return nil, nil, errf(404, "InvalidPrefixListId.NotFound", "The specified prefix list %q was not found.", id)
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
