package safety

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSmoother(t *testing.T) {
	now := time.Unix(0, 0)
	all := []string{"Porn"}
	over := map[string]bool{"Porn": true}
	under := map[string]bool{}
	for _, ca := range []struct {
		name string
		seq  []map[string]bool
		want []int // indexes of frames that flag
	}{
		{"one noisy frame never flags", []map[string]bool{under, over, under, under, over, under, under}, nil},
		{"two of three flag once", []map[string]bool{over, under, over, over, over, over}, []int{2}},
		{"re-arms after it calms down", []map[string]bool{over, over, under, under, under, over, over}, []int{1, 6}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			s := NewSmoother(2, 3, time.Minute)
			var got []int
			for i, o := range ca.seq {
				if len(s.Observe(now, "ch", "b1", int64(i), all, o)) > 0 {
					got = append(got, i)
				}
			}
			require.Equal(t, ca.want, got)
		})
	}
}

func TestSmootherIgnoresRedeliveries(t *testing.T) {
	s := NewSmoother(2, 3, time.Minute)
	now := time.Unix(0, 0)
	all, over := []string{"Porn"}, map[string]bool{"Porn": true}
	require.Empty(t, s.Observe(now, "ch", "b1", 5, all, over))
	require.Empty(t, s.Observe(now, "ch", "b1", 5, all, over), "the same frame again does not count twice")
	require.Empty(t, s.Observe(now, "ch", "b1", 4, all, over))
	require.Equal(t, []string{"Porn"}, s.Observe(now, "ch", "b1", 6, all, over))
	// A new broadcast starts a new window.
	require.Empty(t, s.Observe(now, "ch", "b2", 0, all, over))
}

func TestSmootherChannelsAreIndependent(t *testing.T) {
	s := NewSmoother(2, 2, time.Minute)
	now := time.Unix(0, 0)
	all, over := []string{"Porn"}, map[string]bool{"Porn": true}
	require.Empty(t, s.Observe(now, "a", "b", 1, all, over))
	require.Empty(t, s.Observe(now, "b", "b", 1, all, over))
	require.Equal(t, []string{"Porn"}, s.Observe(now, "a", "b", 2, all, over))
}

func TestSmootherForgetsIdleChannels(t *testing.T) {
	s := NewSmoother(1, 1, time.Minute)
	now := time.Unix(0, 0)
	s.Observe(now, "old", "b", 1, nil, nil)
	for i := range 1024 {
		s.Observe(now.Add(time.Hour), "new", "b", int64(i), nil, nil)
	}
	require.NotContains(t, s.chans, "old")
	require.Contains(t, s.chans, "new")
}

func TestSmootherUndo(t *testing.T) {
	s := NewSmoother(2, 3, time.Minute)
	now := time.Unix(0, 0)
	all, over := []string{"Porn"}, map[string]bool{"Porn": true}
	require.Empty(t, s.Observe(now, "ch", "b", 1, all, over))
	require.Equal(t, []string{"Porn"}, s.Observe(now, "ch", "b", 2, all, over))
	s.Undo("ch") // publishing the flag failed
	require.Equal(t, []string{"Porn"}, s.Observe(now, "ch", "b", 2, all, over), "the redelivered frame flags again")
}
