package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/pgstore"
	"github.com/beaconlive/beacon/store/storetest"
)

// open gives each caller its own schema, dropped at clean-up, so test runs
// and subtests never collide in the shared database.
func open(t testing.TB) store.Store {
	url := testenv.Require(t, "PG_URL", "PostgreSQL")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, pgstore.Config{URL: url, Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = s.Close()
		require.NoError(t, pgstore.DropSchema(context.Background(), url, schema))
	})
	return s
}

func TestConformance(t *testing.T) {
	testenv.Require(t, "PG_URL", "PostgreSQL")
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestOpenErrorsDoNotLeakPassword(t *testing.T) {
	_, err := pgstore.Open(context.Background(), pgstore.Config{URL: "postgres://u:hunter2@[::1"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
	_, err = pgstore.Open(context.Background(), pgstore.Config{URL: "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}
