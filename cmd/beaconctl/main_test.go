package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

func ctl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestAccountCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "beacon.db")
	db := "sqlite://" + path

	out, _, err := ctl(t, "create-user", "-db", db, "-login", "Streamer_1", "-roles", "admin", "-email", "s@example.com")
	require.NoError(t, err)
	require.Contains(t, out, "created user streamer_1")
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	require.Len(t, pw, 2, out)

	_, _, err = ctl(t, "create-user", "-db", db, "-login", "STREAMER_1")
	require.ErrorIs(t, err, store.ErrDuplicate)

	out, _, err = ctl(t, "create-channel", "-db", db, "-login", "streamer_1", "-title", "Hello", "-category", "2", "-tags", "chill, music")
	require.NoError(t, err)
	key1 := regexp.MustCompile(`(live_\S+)`).FindString(out)
	require.NotEmpty(t, key1, out)

	out, _, err = ctl(t, "rotate-key", "-db", db, "-login", "streamer_1")
	require.NoError(t, err)
	key2 := regexp.MustCompile(`(live_\S+)`).FindString(out)
	require.NotEmpty(t, key2)
	require.NotEqual(t, key1, key2)

	out, _, err = ctl(t, "grant-role", "-db", db, "-login", "streamer_1", "-role", "moderator")
	require.NoError(t, err)
	require.Contains(t, out, "viewer,streamer,moderator,admin")
	_, _, err = ctl(t, "grant-role", "-db", db, "-login", "streamer_1", "-role", "root")
	require.ErrorIs(t, err, store.ErrInvalid)

	out, _, err = ctl(t, "create-client", "-db", db, "-name", "Indexer", "-scopes", "streams:read")
	require.NoError(t, err)
	cid := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	sec := regexp.MustCompile(`client_secret .*: (\S+)`).FindStringSubmatch(out)
	require.Len(t, cid, 2)
	require.Len(t, sec, 2)

	// What beaconctl printed works against the store.
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	require.NoError(t, err)
	defer st.Close()
	a, err := auth.New(auth.Config{Store: st})
	require.NoError(t, err)
	_, err = a.VerifyStreamKey(ctx, key1, "")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "the rotated key is dead")
	k, err := a.VerifyStreamKey(ctx, key2, "")
	require.NoError(t, err)
	ch, err := st.ChannelByID(ctx, k.ChannelID)
	require.NoError(t, err)
	require.Equal(t, []string{"chill", "music"}, ch.Tags)
	res, err := a.Login(ctx, auth.LoginRequest{Login: "streamer_1", Password: pw[1]})
	require.NoError(t, err)
	require.NotEmpty(t, res.Session)
	tok, err := a.IssueToken(ctx, cid[1], sec[1], nil, "")
	require.NoError(t, err)
	_, err = a.VerifyToken(ctx, tok.AccessToken, "streams:read")
	require.NoError(t, err)
}

func TestUsage(t *testing.T) {
	_, stderr, err := ctl(t)
	require.ErrorIs(t, err, errUsage)
	for _, c := range commands() {
		require.Contains(t, stderr, c.name)
	}
	_, stderr, err = ctl(t, "nope")
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, stderr, `unknown command "nope"`)
	_, _, err = ctl(t, "help")
	require.NoError(t, err)
	_, stderr, err = ctl(t, "create-user", "-h")
	require.NoError(t, err)
	require.Contains(t, stderr, "-login")
	_, stderr, err = ctl(t, "create-user")
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, stderr, "-login is required")
	_, _, err = ctl(t, "rotate-key", "-db", "mysql://x", "-login", "abc")
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "unknown DSN scheme"))
}
