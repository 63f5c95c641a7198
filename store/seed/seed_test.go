package seed_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/store/seed"
)

func TestCategories(t *testing.T) {
	cs, err := seed.Categories()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cs), 20)
	names := map[string]bool{}
	for _, c := range cs {
		names[c.Name] = true
	}
	for _, n := range []string{"Just Chatting", "Music", "Art"} {
		require.True(t, names[n], n)
	}
}

func TestParseCategoriesRejects(t *testing.T) {
	for _, y := range []string{
		"- {id: 0, slug: a, name: A, kind: game}",
		"- {id: 1, slug: a, name: A, kind: game}\n- {id: 1, slug: b, name: B, kind: game}",
		"- {id: 1, slug: A B, name: A, kind: game}",
		"- {id: 1, slug: a, name: A, kind: movie}",
		"not: [a list",
	} {
		_, err := seed.ParseCategories([]byte(y))
		require.Error(t, err, y)
	}
}
