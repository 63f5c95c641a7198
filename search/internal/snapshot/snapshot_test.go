package snapshot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search"
)

func TestStore(t *testing.T) {
	now := time.Unix(0, 0)
	s := New(time.Minute, 2)
	s.now = func() time.Time { return now }
	a := s.Put(&Entry{IDs: []string{"a"}})
	b := s.Put(&Entry{IDs: []string{"b"}})
	_, ok := s.Get(a) // a is now the most recent
	require.True(t, ok)
	c := s.Put(&Entry{IDs: []string{"c"}})
	_, ok = s.Get(b)
	require.False(t, ok, "least recently used entry evicted")
	e, ok := s.Get(c)
	require.True(t, ok)
	require.Equal(t, []string{"c"}, e.IDs)
	now = now.Add(2 * time.Minute)
	_, ok = s.Get(a)
	require.False(t, ok, "expired")
	_, ok = s.Get(search.SnapshotID{})
	require.False(t, ok)
	require.Equal(t, 1, s.Len())
}
