package store_test

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

var flagCursorCases = []struct {
	name string
	in   string
	ok   bool
}{
	{"round trip", store.FlagCursor{Sort: store.FlagSortScore, Score: 0.93, CreatedAt: time.UnixMicro(1764000000000000).UTC(), Seq: 42}.Encode(), true},
	{"age", store.FlagCursor{Sort: store.FlagSortAge, Seq: 1}.Encode(), true},
	{"empty", "", false},
	{"not base64", "!!!", false},
	{"wrong version", "ZjIuMC4wLjAuMQ", false}, // f2.0.0.0.1
	{"negative seq", "ZjEuMC4wLjAuLTE", false}, // f1.0.0.0.-1
	{"unknown sort", "ZjEuOS4wLjAuMQ", false},  // f1.9.0.0.1
	{"nan score", "ZjEuMC43ZmY4MDAwMDAwMDAwMDAxLjAuMQ", false},
	{"too long", strings.Repeat("A", 200), false},
}

func TestParseFlagCursor(t *testing.T) {
	for _, ca := range flagCursorCases {
		t.Run(ca.name, func(t *testing.T) {
			c, err := store.ParseFlagCursor(ca.in)
			if !ca.ok {
				require.ErrorIs(t, err, store.ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.in, c.Encode())
		})
	}
}

func FuzzParseFlagCursor(f *testing.F) {
	for _, ca := range flagCursorCases {
		f.Add(ca.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := store.ParseFlagCursor(s)
		if err != nil {
			require.ErrorIs(t, err, store.ErrInvalid)
			return
		}
		require.False(t, math.IsNaN(c.Score) || math.IsInf(c.Score, 0))
		require.GreaterOrEqual(t, c.Seq, int64(0))
		again, err := store.ParseFlagCursor(c.Encode())
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

func FuzzSanitizeFlagText(f *testing.F) {
	for _, s := range []string{"", "gg wp", "bad \xff\xfe", "nul \x00", strings.Repeat("é", store.MaxFlagTextLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, cut := store.SanitizeFlagText(s)
		require.True(t, utf8.ValidString(out))
		require.LessOrEqual(t, utf8.RuneCountInString(out), store.MaxFlagTextLen)
		require.NotContains(t, out, "\x00")
		if utf8.RuneCountInString(s) <= store.MaxFlagTextLen && len(s) <= 4*store.MaxFlagTextLen {
			require.False(t, cut)
		}
	})
}

func TestFlagEnums(t *testing.T) {
	for _, d := range []string{"dismiss", "confirm", "confirm_hide", "confirm_end_stream"} {
		got, err := store.ParseFlagDecision(d)
		require.NoError(t, err)
		require.Equal(t, store.FlagDecision(d), got)
	}
	require.Equal(t, store.FlagDismissed, store.DecisionDismiss.State())
	require.Equal(t, store.FlagConfirmed, store.DecisionConfirmEndStream.State())
	for _, bad := range []string{"", "DISMISS", "ban", "dismiss\x00"} {
		_, err := store.ParseFlagDecision(bad)
		require.ErrorIs(t, err, store.ErrInvalid)
	}
	_, err := store.ParseFlagKind("video")
	require.ErrorIs(t, err, store.ErrInvalid)
	_, err = store.ParseFlagState("closed")
	require.ErrorIs(t, err, store.ErrInvalid)
	s, err := store.ParseFlagSort("age")
	require.NoError(t, err)
	require.Equal(t, store.FlagSortAge, s)
	_, err = store.ParseFlagSort("random")
	require.ErrorIs(t, err, store.ErrInvalid)
}
