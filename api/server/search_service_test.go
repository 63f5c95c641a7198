package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/seed"
)

type seedCategories struct{}

func (seedCategories) Categories(context.Context) ([]store.Category, error) { return seed.Categories() }

// fakeLive stands in for the media stage; the real one is wired and tested
// end to end in cmd/beacon.
type fakeLive struct{}

func (fakeLive) Live(id string) (server.LiveInfo, bool) {
	if id != "c1" {
		return server.LiveInfo{}, false
	}
	return server.LiveInfo{
		StartedAt: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), Publishing: true, Width: 1280, Height: 720, FPS: 30,
		VideoCodec: "avc1.64001f", AudioCodec: "mp4a.40.2", MasterPath: "/hls/c1/index.m3u8",
		Renditions:     []server.LiveRendition{{Name: "source", Width: 1280, Height: 720, FPS: 30, Bandwidth: 3000000, PlaylistPath: "/hls/c1/source/main_stream.m3u8"}, {Name: "480p", Width: 854, Height: 480, FPS: 30, Bandwidth: 1400000, PlaylistPath: "/hls/c1/480p/index.m3u8"}},
		ThumbnailSizes: []string{"320x180", "640x360"},
	}, true
}

func TestGetStream(t *testing.T) {
	r := directory(t)
	var b struct {
		Stream struct {
			ChannelID    string `json:"channel_id"`
			Title        string `json:"title"`
			Live         bool   `json:"live"`
			ThumbnailURL string `json:"thumbnail_url"`
		} `json:"stream"`
		Playback struct {
			Live       bool   `json:"live"`
			HLSURL     string `json:"hls_url"`
			Renditions []struct {
				Name   string `json:"name"`
				Height int    `json:"height"`
			} `json:"renditions"`
			ThumbnailURL string `json:"thumbnail_url"`
		} `json:"playback"`
	}
	code, _ := getJSON(t, r, "/v1/streams/c1", nil, &b)
	require.Equal(t, 200, code)
	require.Equal(t, "Any% speedrun world record attempts", b.Stream.Title)
	require.True(t, b.Stream.Live)
	require.True(t, b.Playback.Live)
	require.Equal(t, "/hls/c1/index.m3u8", b.Playback.HLSURL)
	require.Len(t, b.Playback.Renditions, 2)
	require.Equal(t, "/thumbnails/c1-{width}x{height}.jpg", b.Playback.ThumbnailURL)

	// Indexed as live but not served by media: reported offline.
	code, _ = getJSON(t, r, "/v1/streams/c2", nil, &b)
	require.Equal(t, 200, code)
	require.False(t, b.Stream.Live)

	code, e := getJSON(t, r, "/v1/streams/nobody", nil, &b)
	require.Equal(t, 404, code)
	require.Equal(t, "NOT_FOUND", e.Code)
	code, e = getJSON(t, r, "/v1/streams/bad%20name", nil, &b)
	require.Equal(t, 400, code)
	require.Equal(t, "INVALID_ARGUMENT", e.Code)
}

func directory(t *testing.T) *running {
	t.Helper()
	idx, err := bleveindex.Open(bleveindex.Config{Path: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idx.Close() })
	ctx := context.Background()
	started := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, c := range []search.Channel{
		{ID: "c1", Login: "speedy", DisplayName: "Speedy", Title: "Any% speedrun world record attempts", CategoryID: "1", CategoryName: "Just Chatting", Language: "en", StreamerTags: []string{"speedrun", "English"}, Live: true, ViewerCount: 500, StartedAt: started},
		{ID: "c2", Login: "painter", DisplayName: "Painter", Title: "Oil painting landscapes", CategoryID: "3", CategoryName: "Art", Language: "fr", StreamerTags: []string{"art"}, Live: true, ViewerCount: 50, StartedAt: started.Add(time.Minute)},
		{ID: "c3", Login: "sleepy", DisplayName: "Sleepy", Title: "Offline speedrun practice", CategoryID: "1", CategoryName: "Just Chatting", Language: "en", Live: false, ViewerCount: 0},
		{ID: "c4", Login: "chatter", DisplayName: "Chatter", Title: "Morning chat", CategoryID: "1", CategoryName: "Just Chatting", Language: "en", Live: true, ViewerCount: 120, Mature: true, StartedAt: started},
	} {
		require.NoError(t, idx.Upsert(ctx, c.ID, search.FullPatch(c)))
	}
	require.NoError(t, idx.Refresh(ctx))
	return start(t, server.Config{}, func(s *server.Server) {
		server.NewDirectoryService(idx, seedCategories{}, fakeLive{}).Register(s)
	})
}

func getJSON(t *testing.T, r *running, path string, q url.Values, into any) (int, server.ErrorDetail) {
	t.Helper()
	u := r.http + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, b := get(t, u)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, errorBody(t, b)
	}
	require.NoError(t, json.Unmarshal(b, into), string(b))
	return resp.StatusCode, server.ErrorDetail{}
}

type streamsBody struct {
	Streams []struct {
		ChannelID   string   `json:"channel_id"`
		Title       string   `json:"title"`
		Tags        []string `json:"tags"`
		ViewerCount string   `json:"viewer_count"` // int64 is a JSON string in proto3 JSON
		Live        bool     `json:"live"`
	} `json:"streams"`
	Channels []struct {
		ChannelID string `json:"channel_id"`
	} `json:"channels"`
	NextPageToken string `json:"next_page_token"`
	Total         string `json:"total"`
	Facets        *struct {
		Categories []struct {
			Value, Label string
			Count        string
		} `json:"categories"`
	} `json:"facets"`
}

func ids(b streamsBody) []string {
	var out []string
	for _, s := range b.Streams {
		out = append(out, s.ChannelID)
	}
	for _, s := range b.Channels {
		out = append(out, s.ChannelID)
	}
	return out
}

func TestListStreams(t *testing.T) {
	r := directory(t)
	var b streamsBody
	code, _ := getJSON(t, r, "/v1/streams", nil, &b)
	require.Equal(t, 200, code)
	require.Equal(t, []string{"c1", "c4", "c2"}, ids(b), "live only, most viewers first")
	require.Equal(t, "Any% speedrun world record attempts", b.Streams[0].Title)
	require.Equal(t, []string{"speedrun", "english"}, b.Streams[0].Tags)

	b = streamsBody{}
	getJSON(t, r, "/v1/streams", url.Values{"language": {"fr"}}, &b)
	require.Equal(t, []string{"c2"}, ids(b))

	b = streamsBody{}
	getJSON(t, r, "/v1/streams", url.Values{"mature": {"false"}, "facets": {"true"}}, &b)
	require.Equal(t, []string{"c1", "c2"}, ids(b))
	require.NotNil(t, b.Facets)
	require.NotEmpty(t, b.Facets.Categories)

	// Pagination: one stream per page, tokens chain to the end.
	var seen []string
	token := ""
	for range 5 {
		b = streamsBody{}
		q := url.Values{"page_size": {"1"}}
		if token != "" {
			q.Set("page_token", token)
		}
		code, _ := getJSON(t, r, "/v1/streams", q, &b)
		require.Equal(t, 200, code)
		seen = append(seen, ids(b)...)
		token = b.NextPageToken
		if token == "" {
			break
		}
	}
	require.Equal(t, []string{"c1", "c4", "c2"}, seen)
}

func TestSearchChannels(t *testing.T) {
	r := directory(t)
	var b streamsBody
	getJSON(t, r, "/v1/search/channels", url.Values{"query": {"speedrn"}}, &b)
	require.ElementsMatch(t, []string{"c1", "c3"}, ids(b), "typo tolerance")
	b = streamsBody{}
	getJSON(t, r, "/v1/search/channels", url.Values{"query": {"speedrun"}, "live_only": {"true"}}, &b)
	require.Equal(t, []string{"c1"}, ids(b))
	b = streamsBody{}
	getJSON(t, r, "/v1/search/channels", url.Values{"query": {"pain"}}, &b)
	require.Equal(t, []string{"c2"}, ids(b), "prefix of the last word")
}

func TestDirectoryHostileInput(t *testing.T) {
	r := directory(t)
	for _, ca := range []struct {
		name string
		path string
		q    url.Values
		code int
	}{
		{"query too long", "/v1/search/channels", url.Values{"query": {strings.Repeat("a ", 200)}}, 400},
		{"forged page token", "/v1/streams", url.Values{"page_token": {"eyJvZmZzZXQiOjk5OTk5OX0"}}, 400},
		{"negative page size", "/v1/streams", url.Values{"page_size": {"-1"}}, 400},
		{"page size not a number", "/v1/streams", url.Values{"page_size": {"ten"}}, 400},
		{"mature not a boolean", "/v1/streams", url.Values{"mature": {"maybe"}}, 400},
		{"empty suggest prefix", "/v1/search/suggest", url.Values{"prefix": {" "}}, 400},
		{"suggest prefix too long", "/v1/search/suggest", url.Values{"prefix": {strings.Repeat("x", 65)}}, 400},
		{"invalid utf-8 category query", "/v1/search/categories", url.Values{"query": {"\xff\xfe"}}, 400},
		{"too many filter values", "/v1/streams", url.Values{"language": strings.Split(strings.Repeat("en,", 30), ",")}, 400},
	} {
		t.Run(ca.name, func(t *testing.T) {
			var b streamsBody
			code, e := getJSON(t, r, ca.path, ca.q, &b)
			require.Equal(t, ca.code, code)
			require.Equal(t, "INVALID_ARGUMENT", e.Code)
			require.NotEmpty(t, e.Message)
		})
	}
	// Backend query syntax is plain text: it matches nothing, and errors nothing.
	for _, q := range []string{"title:* OR _exists_:login", "/.*/", "a~99", `"unterminated`, "*", "(((("} {
		var b streamsBody
		code, _ := getJSON(t, r, "/v1/search/channels", url.Values{"query": {q}}, &b)
		require.Equal(t, 200, code, q)
		require.Empty(t, ids(b), q)
	}
}

func TestCategoriesAndSuggest(t *testing.T) {
	r := directory(t)
	var cats struct {
		Categories []struct {
			ID           string `json:"id"`
			Name         string `json:"name"`
			LiveChannels string `json:"live_channels"`
			Viewers      string `json:"viewers"`
		} `json:"categories"`
	}
	getJSON(t, r, "/v1/search/categories", url.Values{"query": {"chat"}}, &cats)
	require.NotEmpty(t, cats.Categories)
	require.Equal(t, "Just Chatting", cats.Categories[0].Name)
	require.Equal(t, "2", cats.Categories[0].LiveChannels)
	require.Equal(t, "620", cats.Categories[0].Viewers)

	cats.Categories = nil
	getJSON(t, r, "/v1/categories/top", nil, &cats)
	require.Len(t, cats.Categories, 2)
	require.Equal(t, "1", cats.Categories[0].ID)
	require.Equal(t, "3", cats.Categories[1].ID)

	var sug struct {
		Channels []struct {
			Login string `json:"login"`
		} `json:"channels"`
		Categories []struct {
			Name string `json:"name"`
		} `json:"categories"`
	}
	getJSON(t, r, "/v1/search/suggest", url.Values{"prefix": {"art"}}, &sug)
	require.NotEmpty(t, sug.Categories)
	require.Equal(t, "Art", sug.Categories[0].Name)
}
