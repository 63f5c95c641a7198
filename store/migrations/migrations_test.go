package migrations_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store/migrations"
)

func TestDialectsHaveTheSameVersions(t *testing.T) {
	names := func(f fs.FS) []string {
		m, err := fs.Glob(f, "*.sql")
		require.NoError(t, err)
		return m
	}
	lite, pg := names(migrations.SQLite()), names(migrations.Postgres())
	require.NotEmpty(t, lite)
	require.Equal(t, lite, pg, "every migration exists for both dialects, with the same version and name")
	for _, n := range lite {
		b, err := fs.ReadFile(migrations.SQLite(), n)
		require.NoError(t, err)
		require.True(t, strings.Contains(string(b), "-- +goose Up") && strings.Contains(string(b), "-- +goose Down"), n)
	}
}
