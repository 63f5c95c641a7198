package store_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		dsn, scheme, target string
		bad                 bool
	}{
		{dsn: "sqlite://./data/beacon.db", scheme: "sqlite", target: "./data/beacon.db"},
		{dsn: "sqlite:///var/lib/beacon.db", scheme: "sqlite", target: "/var/lib/beacon.db"},
		{dsn: "sqlite://:memory:", scheme: "sqlite", target: ":memory:"},
		{dsn: "SQLite3://x.db", scheme: "sqlite", target: "x.db"},
		{dsn: "postgres://beacon:secret@127.0.0.1:5432/beacon?sslmode=disable", scheme: "postgres", target: "postgres://beacon:secret@127.0.0.1:5432/beacon?sslmode=disable"},
		{dsn: "postgresql://h/db", scheme: "postgres", target: "postgresql://h/db"},
		{dsn: "sqlite://", bad: true},
		{dsn: "sqlite://x.db?_pragma=foo", bad: true},
		{dsn: "mysql://x", bad: true},
		{dsn: "./data/beacon.db", bad: true},
		{dsn: "postgres://", bad: true},
		{dsn: "", bad: true},
	}
	for _, c := range cases {
		s, tgt, err := store.ParseDSN(c.dsn)
		if c.bad {
			require.Error(t, err, c.dsn)
			continue
		}
		require.NoError(t, err, c.dsn)
		require.Equal(t, c.scheme, s)
		require.Equal(t, c.target, tgt)
	}
}

func TestParseDSNNeverEchoesPassword(t *testing.T) {
	_, _, err := store.ParseDSN("postgres://user:hunter2@[::1")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"sqlite://./data/beacon.db", "postgres://u:p@h:1/db", "sqlite://", "x://y", "postgres://[::1", "sqlite://a?b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		scheme, target, err := store.ParseDSN(dsn)
		if err != nil {
			require.Empty(t, scheme)
			return
		}
		require.Contains(t, []string{store.SchemeSQLite, store.SchemePostgres}, scheme)
		require.NotEmpty(t, target)
		if scheme == store.SchemeSQLite {
			require.True(t, strings.HasSuffix(dsn, target))
			require.NotContains(t, target, "?")
		} else {
			require.Equal(t, dsn, target)
		}
	})
}
