package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// seedStore creates a SQLite store with three streamers' channels and
// returns its DSN and the channel ids (as index ids) by login.
func seedStore(t *testing.T) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "beacon.db")
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: path})
	require.NoError(t, err)
	defer st.Close()
	ids := map[string]string{}
	for _, c := range []struct {
		login, display, title string
		cat                   store.CategoryID
		lang                  string
		tags                  []string
		mature                bool
	}{
		{"alice", "Alice Racer", "Grand prix speedrun", 2, "fr", []string{"cars", "speedrun"}, true},
		{"bob", "Bob", "Chill lofi beats", 0, "en", nil, false},
		{"carol", "Carol", "Learning chess", 1, "de", []string{"chess"}, false},
	} {
		u, err := st.CreateUser(ctx, store.NewUser{Login: c.login, DisplayName: c.display})
		require.NoError(t, err)
		ch, err := st.CreateChannel(ctx, store.NewChannel{OwnerID: u.ID, Title: c.title, CategoryID: c.cat, Language: c.lang, Tags: c.tags, Mature: c.mature})
		require.NoError(t, err)
		ids[c.login] = strconv.FormatInt(int64(ch.ID), 10)
	}
	return "sqlite://" + path, ids
}

func categoryName(t *testing.T, dsn string, id store.CategoryID) string {
	t.Helper()
	st, err := openStore(context.Background(), dsn)
	require.NoError(t, err)
	defer st.Close()
	c, err := st.CategoryByID(context.Background(), id)
	require.NoError(t, err)
	return c.Name
}

// liveState puts the state the indexer would have written into ix: alice
// live with viewers, Smart Tags and a thumbnail, carol hidden by a
// confirmed flag, and a channel the store does not have.
func liveState(t *testing.T, ix search.Index, ids map[string]string, started time.Time) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, ix.Upsert(ctx, ids["alice"], search.Patch{
		Login: search.Ptr("alice"), Title: search.Ptr("stale title from an old event"), Live: search.Ptr(true),
		StartedAt: search.Ptr(started), ViewerCount: search.Ptr(int64(4242)), SmartTags: search.Ptr([]string{"racing"}),
		ThumbnailURL: search.Ptr("/thumbs/alice.jpg"),
	}))
	require.NoError(t, ix.Upsert(ctx, ids["carol"], search.Patch{Safety: search.Ptr(search.SafetyHidden)}))
	require.NoError(t, ix.Upsert(ctx, "424242", search.Patch{Title: search.Ptr("ghost channel"), Live: search.Ptr(true)}))
}

// checkRebuilt checks the rebuilt documents in ix.
func checkRebuilt(t *testing.T, ix search.Index, dsn string, ids map[string]string, started time.Time) {
	t.Helper()
	ctx := context.Background()
	got, err := ix.Get(ctx, ids["alice"])
	require.NoError(t, err)
	require.Equal(t, search.Channel{
		ID: ids["alice"], Login: "alice", DisplayName: "Alice Racer", Title: "Grand prix speedrun",
		CategoryID: "2", CategoryName: categoryName(t, dsn, 2), Language: "fr", StreamerTags: []string{"cars", "speedrun"},
		SmartTags: []string{"racing"}, Mature: true, Live: true, StartedAt: started, ViewerCount: 4242,
		ThumbnailURL: "/thumbs/alice.jpg", Safety: search.SafetyVisible,
	}, got)
	got, err = ix.Get(ctx, ids["bob"])
	require.NoError(t, err)
	require.Equal(t, search.Channel{ID: ids["bob"], Login: "bob", DisplayName: "Bob", Title: "Chill lofi beats", Language: "en", Safety: search.SafetyVisible}, got)
	got, err = ix.Get(ctx, ids["carol"])
	require.NoError(t, err)
	require.Equal(t, search.SafetyHidden, got.Safety)
	require.Equal(t, "Learning chess", got.Title)
	_, err = ix.Get(ctx, "424242")
	require.ErrorIs(t, err, search.ErrNotFound)
	require.NoError(t, ix.Refresh(ctx))
	res, err := ix.Search(ctx, search.Query{Text: "prix speedr", Live: search.Ptr(true)})
	require.NoError(t, err)
	require.Len(t, res.Hits, 1)
	require.Equal(t, ids["alice"], res.Hits[0].ID)
}

func TestReindexBleve(t *testing.T) {
	dsn, ids := seedStore(t)
	path := filepath.Join(t.TempDir(), "index")
	started := time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)
	ix, err := bleveindex.Open(bleveindex.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	liveState(t, ix, ids, started)

	// While the "server" holds the index, reindex refuses.
	_, _, err = ctl(t, "reindex", "-db", dsn, "-search", "bleve://"+path)
	require.ErrorIs(t, err, bleveindex.ErrLocked)
	require.ErrorContains(t, err, "in use by a running server: stop it first")
	require.NoError(t, ix.Close())

	out, _, err := ctl(t, "reindex", "-db", dsn, "-search", "bleve://"+path, "-page", "2")
	require.NoError(t, err)
	require.Contains(t, out, "reindexed 3 channels into bleve index "+path)
	require.Contains(t, out, "live state kept for 2, dropped 1 not in the store")

	ix, err = bleveindex.Open(bleveindex.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer ix.Close()
	checkRebuilt(t, ix, dsn, ids, started)
}

func TestReindexElasticsearch(t *testing.T) {
	url := testenv.Require(t, "ES_URL", "Elasticsearch")
	ctx := context.Background()
	dsn, ids := seedStore(t)
	alias := fmt.Sprintf("test-reindex-%d", time.Now().UnixNano())
	ix, err := esindex.Open(ctx, esindex.Config{URL: url, Alias: alias, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer ix.Close()
	defer ix.Drop(ctx)
	started := time.Date(2026, 11, 24, 4, 0, 0, 0, time.UTC)
	liveState(t, ix, ids, started)

	// The server keeps its index open: the rebuild is online.
	out, _, err := ctl(t, "reindex", "-db", dsn, "-search", url, "-alias", alias)
	require.NoError(t, err)
	require.Contains(t, out, "reindexed 3 channels into Elasticsearch at "+url)
	require.Contains(t, out, "live state kept for 2, dropped 1 not in the store")
	checkRebuilt(t, ix, dsn, ids, started)
}

func TestReindexRefusals(t *testing.T) {
	dsn, _ := seedStore(t)
	emptyPath := filepath.Join(t.TempDir(), "empty.db")
	st, err := sqlitestore.Open(context.Background(), sqlitestore.Config{Path: emptyPath})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	missing := filepath.Join(t.TempDir(), "nope", "beacon.db")
	idx := "bleve://" + filepath.Join(t.TempDir(), "index")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown search scheme", []string{"-db", dsn, "-search", "solr://localhost:8983"}, `-search: unsupported scheme "solr"`},
		{"search without scheme", []string{"-db", dsn, "-search", "/var/index"}, "-search: no scheme"},
		{"bleve without path", []string{"-db", dsn, "-search", "bleve://"}, "bleve DSN has no path"},
		{"http without host", []string{"-db", dsn, "-search", "http://"}, "not a valid URL"},
		{"nothing listens", []string{"-db", dsn, "-search", "http://127.0.0.1:1"}, "backend unavailable"},
		{"missing store", []string{"-db", "sqlite://" + missing, "-search", idx}, "no store at " + missing},
		{"bad store DSN", []string{"-db", "mysql://x", "-search", idx}, "unknown DSN scheme"},
		{"empty store", []string{"-db", "sqlite://" + emptyPath, "-search", idx}, "refusing to empty the search index"},
		{"index path is a file", []string{"-db", dsn, "-search", "bleve://" + dsnPath(t, dsn)}, "is not a bleve index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb strings.Builder
			err := run(ctx, append([]string{"reindex"}, tc.args...), &out, &errb)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.msg)
			_, statErr := os.Stat(missing)
			require.ErrorIs(t, statErr, os.ErrNotExist, "a missing store is not created")
		})
	}
	_, _, err = ctl(t, "reindex", "-db", dsn, "-search", idx, "-page", "0")
	require.ErrorIs(t, err, errUsage)
	out, _, err := ctl(t, "reindex", "-db", "sqlite://"+emptyPath, "-search", idx, "-allow-empty")
	require.NoError(t, err)
	require.Contains(t, out, "reindexed 0 channels")
}

func dsnPath(t *testing.T, dsn string) string {
	_, p, err := store.ParseDSN(dsn)
	require.NoError(t, err)
	return p
}

func TestReindexBleveHeldByAnotherProcess(t *testing.T) {
	if path := os.Getenv("BEACON_TEST_HOLD_INDEX"); path != "" {
		ix, err := bleveindex.Open(bleveindex.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		require.NoError(t, ix.Close())
		return
	}
	dsn, _ := seedStore(t)
	path := filepath.Join(t.TempDir(), "index")
	cmd := exec.Command(os.Args[0], "-test.run=^TestReindexBleveHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), "BEACON_TEST_HOLD_INDEX="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", line)

	_, _, err = ctl(t, "reindex", "-db", dsn, "-search", "bleve://"+path)
	require.ErrorIs(t, err, bleveindex.ErrLocked)
	require.ErrorContains(t, err, "in use by a running server: stop it first")

	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	out, _, err := ctl(t, "reindex", "-db", dsn, "-search", "bleve://"+path)
	require.NoError(t, err, "once the server stopped")
	require.Contains(t, out, "reindexed 3 channels")
}
