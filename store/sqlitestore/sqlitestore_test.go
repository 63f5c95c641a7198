package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
	"github.com/beaconlive/beacon/store/storetest"
)

func open(t testing.TB) store.Store {
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: filepath.Join(t.TempDir(), "beacon.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "beacon.db")
	s, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	require.NoError(t, err)
	u, err := s.CreateUser(ctx, store.NewUser{Login: "keeper"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Ping(ctx), store.ErrClosed)

	s, err = sqlitestore.Open(ctx, sqlitestore.Config{Path: path}) // migrations are idempotent
	require.NoError(t, err)
	defer s.Close()
	got, err := s.UserByLogin(ctx, "KEEPER")
	require.NoError(t, err)
	require.Equal(t, u.ID, got.ID)
}

func TestOpenRejectsMemory(t *testing.T) {
	_, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: ":memory:"})
	require.Error(t, err)
}
