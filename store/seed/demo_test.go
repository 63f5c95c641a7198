package seed_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/seed"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

func TestDemoIdempotent(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
	require.NoError(t, err)
	defer st.Close()

	c1, err := seed.Demo(ctx, st)
	require.NoError(t, err)
	require.Equal(t, "demo_streamer", c1.ChannelName)
	require.Contains(t, c1.String(), c1.StreamKey)

	// Someone changes a password and locks the moderator out; Demo repairs.
	mod, err := st.UserByLogin(ctx, "demo_moderator")
	require.NoError(t, err)
	require.NoError(t, st.SetPasswordHash(ctx, mod.ID, "broken"))
	require.NoError(t, st.SetDisabled(ctx, mod.ID, true))

	c2, err := seed.Demo(ctx, st)
	require.NoError(t, err)
	require.Equal(t, c1.ChannelID, c2.ChannelID)
	require.NotEqual(t, c1.StreamKey, c2.StreamKey, "the key is rotated at every call")

	a, err := auth.New(auth.Config{Store: st})
	require.NoError(t, err)
	_, err = a.VerifyStreamKey(ctx, c1.StreamKey, "")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey)
	k, err := a.VerifyStreamKey(ctx, c2.StreamKey, "")
	require.NoError(t, err)
	require.Equal(t, c2.ChannelID, k.ChannelID)

	for _, acc := range []seed.Account{c2.Streamer, c2.Viewer, c2.Moderator} {
		res, err := a.Login(ctx, auth.LoginRequest{Login: acc.Login, Password: acc.Password})
		require.NoError(t, err, acc.Login)
		for _, r := range acc.Roles {
			require.True(t, res.User.HasRole(r), "%s holds %s", acc.Login, r)
		}
	}
	streamer, _ := st.UserByLogin(ctx, "demo_streamer")
	require.True(t, streamer.HasRole(store.RoleStreamer))
	viewer, _ := st.UserByLogin(ctx, "demo_viewer")
	fs, err := st.FollowsOf(ctx, viewer.ID, store.Page{})
	require.NoError(t, err)
	require.Len(t, fs, 1)
}
