package search

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var casesCursor = []struct {
	name string
	c    Cursor
}{
	{"viewers", Cursor{Sort: SortViewers, Fingerprint: 42, Offset: 20, Snapshot: SnapshotID{1, 2, 3}, Key: 1234, ID: "ch-1"}},
	{"recency", Cursor{Sort: SortRecency, Fingerprint: 1<<63 + 7, Offset: 980, Key: 1700000000000, ID: "a"}},
	{"relevance", Cursor{Sort: SortRelevance, Fingerprint: 0, Offset: 1, Key: ScoreKey(3.25), ID: strings.Repeat("x", MaxIDLen)}},
}

func TestCursorRoundTrip(t *testing.T) {
	for _, ca := range casesCursor {
		t.Run(ca.name, func(t *testing.T) {
			s := ca.c.Encode()
			require.LessOrEqual(t, len(s), MaxCursorLen)
			got, err := DecodeCursor(s)
			require.NoError(t, err)
			require.Equal(t, ca.c, *got)
		})
	}
}

func TestCursorRejects(t *testing.T) {
	good := casesCursor[0].c.Encode()
	for _, s := range []string{
		"", "x", "!!!!", good[:len(good)-3], good + "AA", strings.Repeat("A", 5000),
		(&Cursor{Sort: SortViewers, Offset: MaxDepth + 1, ID: "a"}).Encode(),
		(&Cursor{Sort: SortViewers, Offset: 0, ID: "a"}).Encode(),
		(&Cursor{Sort: SortViewers, Offset: 5, ID: "bad id"}).Encode(),
		(&Cursor{Sort: SortViewers, Offset: 5, ID: ""}).Encode(),
	} {
		_, err := DecodeCursor(s)
		require.Error(t, err, "%q", s)
		require.True(t, errors.Is(err, ErrInvalidQuery), "%v", err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	for _, ca := range casesCursor {
		f.Add(ca.c.Encode())
	}
	f.Add("")
	f.Add("title:* OR _exists_:x")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCursor) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("error %v matches neither ErrInvalidCursor nor ErrTooDeep", err)
			}
			return
		}
		if c.Offset < 1 || c.Offset > MaxDepth || ValidateID(c.ID) != nil {
			t.Fatalf("accepted out-of-range cursor %+v", c)
		}
		again, err := DecodeCursor(c.Encode())
		if err != nil || *again != *c {
			t.Fatalf("re-encoding %+v: %v %+v", c, err, again)
		}
	})
}
