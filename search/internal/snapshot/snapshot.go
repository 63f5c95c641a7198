// Package snapshot keeps the ranked id lists that make search cursors stable.
package snapshot

import (
	"container/list"
	"sync"
	"time"

	"github.com/beaconlive/beacon/search"
)

// Entry is one query's ranking, captured on its first page.
type Entry struct {
	// IDs are the ranked channel ids, at most search.MaxDepth.
	IDs []string
	// Keys are their sort keys (see search.Cursor.Key), parallel to IDs.
	Keys []int64
	// Scores are their text scores, parallel to IDs.
	Scores []float64
	// Total and Facets are the first page's, repeated on later pages.
	Total  int
	Facets *search.Facets

	created time.Time
}

// Store is a bounded LRU of entries that expire after a TTL. It is safe for
// concurrent use.
type Store struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	ll    *list.List
	items map[search.SnapshotID]*list.Element
}

type item struct {
	id search.SnapshotID
	e  *Entry
}

// Defaults.
const (
	DefaultTTL      = 5 * time.Minute
	DefaultCapacity = 2048
)

// New returns a store keeping at most capacity entries for ttl each. Zero
// values take DefaultTTL and DefaultCapacity.
func New(ttl time.Duration, capacity int) *Store {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Store{ttl: ttl, max: capacity, now: time.Now, ll: list.New(), items: map[search.SnapshotID]*list.Element{}}
}

// Put stores e and returns its new id.
func (s *Store) Put(e *Entry) search.SnapshotID {
	id := search.NewSnapshotID()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.created = s.now()
	s.items[id] = s.ll.PushFront(&item{id: id, e: e})
	for s.ll.Len() > s.max {
		last := s.ll.Back()
		s.ll.Remove(last)
		delete(s.items, last.Value.(*item).id)
	}
	return id
}

// Get returns the live entry id names.
func (s *Store) Get(id search.SnapshotID) (*Entry, bool) {
	if id.IsZero() {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[id]
	if !ok {
		return nil, false
	}
	it := el.Value.(*item)
	if s.now().Sub(it.e.created) > s.ttl {
		s.ll.Remove(el)
		delete(s.items, id)
		return nil, false
	}
	s.ll.MoveToFront(el)
	return it.e, true
}

// Len returns the number of entries held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len()
}
