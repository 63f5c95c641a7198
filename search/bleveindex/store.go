package bleveindex

import (
	"slices"

	"github.com/beaconlive/beacon/search"
)

// entry is a channel in memory with its filter and facet values interned.
// Entries and their channels are immutable: a write replaces them, so a
// query may keep using the ones it read after releasing the lock.
type entry struct {
	c         *search.Channel
	key       int32 // the channel's stable key (see keyTable)
	slot      int
	cat, lang int32
	tags      []int32 // streamer tags and Smart Tags together
	viewers   int64
	startedMs int64
	live      bool
	mature    bool
	hidden    bool
}

// store holds every document in memory: by id, densely for scans, and by
// stable key for resolving bleve hits without hashing their ids.
type store struct {
	byID  map[string]*entry
	all   []*entry
	byKey []*entry // indexed by key; nil for a key with no document
	keys  *keyTable
	ids   map[string]int32
	names []string
}

func newStore(keys *keyTable) *store {
	return &store{byID: map[string]*entry{}, keys: keys, ids: map[string]int32{"": 0}, names: []string{""}}
}

// byKeyGet returns the current entry of key, nil when there is none.
func (s *store) byKeyGet(key int32) *entry {
	if key < 0 || int(key) >= len(s.byKey) {
		return nil
	}
	return s.byKey[key]
}

func (s *store) setKey(e *entry) {
	for int(e.key) >= len(s.byKey) {
		s.byKey = append(s.byKey, nil)
	}
	s.byKey[e.key] = e
}

func (s *store) intern(v string) int32 {
	if n, ok := s.ids[v]; ok {
		return n
	}
	n := int32(len(s.names))
	s.ids[v] = n
	s.names = append(s.names, v)
	return n
}

func (s *store) get(id string) (*search.Channel, bool) {
	e, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return e.c, true
}

func (s *store) put(c *search.Channel) {
	e := &entry{c: c, cat: s.intern(c.CategoryID), lang: s.intern(c.Language), live: c.Live, mature: c.Mature, hidden: c.Hidden(),
		viewers: c.ViewerCount, startedMs: c.StartedAt.UnixMilli()}
	for _, t := range c.Tags() {
		e.tags = append(e.tags, s.intern(t))
	}
	if old, ok := s.byID[c.ID]; ok {
		e.key = old.key
		e.slot = old.slot
		s.all[e.slot] = e
	} else {
		e.key = s.keys.key(c.ID)
		e.slot = len(s.all)
		s.all = append(s.all, e)
	}
	s.byID[c.ID] = e
	s.setKey(e)
}

// setViewers replaces c's viewer count, keeping the interned values.
func (s *store) setViewers(c *search.Channel) {
	old, ok := s.byID[c.ID]
	if !ok {
		s.put(c)
		return
	}
	e := *old
	e.c = c
	e.viewers = c.ViewerCount
	s.all[e.slot] = &e
	s.byID[c.ID] = &e
	s.byKey[e.key] = &e
}

func (s *store) del(id string) {
	e, ok := s.byID[id]
	if !ok {
		return
	}
	last := s.all[len(s.all)-1]
	if last != e {
		moved := *last
		moved.slot = e.slot
		s.all[e.slot] = &moved
		s.byID[moved.c.ID] = &moved
		s.byKey[moved.key] = &moved
	}
	s.all[len(s.all)-1] = nil
	s.all = s.all[:len(s.all)-1]
	s.byKey[e.key] = nil
	delete(s.byID, id)
}

// filter is a Plan's filters over interned values.
type filter struct {
	p             *search.Plan
	none          bool
	cats, langs   []int32
	tagsAll, tAny []int32
}

func (s *store) compile(p *search.Plan) *filter {
	f := &filter{p: p}
	look := func(vs []string, all bool) []int32 {
		var out []int32
		for _, v := range vs {
			if n, ok := s.ids[v]; ok {
				out = append(out, n)
			} else if all {
				f.none = true
			}
		}
		if len(vs) > 0 && len(out) == 0 {
			f.none = true
		}
		return out
	}
	f.cats = look(p.CategoryIDs, false)
	f.langs = look(p.Languages, false)
	f.tagsAll = look(p.TagsAll, true)
	f.tAny = look(p.TagsAny, false)
	return f
}

func (f *filter) passes(e *entry) bool {
	p := f.p
	if f.none || (!p.IncludeHidden && e.hidden) || (p.Live != nil && e.live != *p.Live) || (p.Mature != nil && e.mature != *p.Mature) {
		return false
	}
	if len(f.cats) > 0 && !slices.Contains(f.cats, e.cat) {
		return false
	}
	if len(f.langs) > 0 && !slices.Contains(f.langs, e.lang) {
		return false
	}
	for _, t := range f.tagsAll {
		if !slices.Contains(e.tags, t) {
			return false
		}
	}
	if len(f.tAny) > 0 && !slices.ContainsFunc(f.tAny, func(t int32) bool { return slices.Contains(e.tags, t) }) {
		return false
	}
	return true
}
