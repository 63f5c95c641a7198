package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/internal/browser"
	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

type streamer struct {
	channelID string
	key       string
}

// newUser creates a user with roles in the SQLite store at dbPath.
func newUser(t *testing.T, dbPath, login string, roles ...store.Role) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: dbPath})
	require.NoError(t, err)
	defer st.Close()
	a, err := auth.New(auth.Config{Store: st, Password: auth.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}})
	require.NoError(t, err)
	_, err = a.SignUp(ctx, auth.SignUpRequest{Login: login, Password: "correct horse battery", Roles: roles})
	require.NoError(t, err)
}

// login starts a session over REST and returns its cookie.
func login(t *testing.T, base, user string) *http.Cookie {
	t.Helper()
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(`{"login":"`+user+`","password":"correct horse battery"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var s struct {
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	require.Equal(t, 200, resp.StatusCode)
	return &http.Cookie{Name: "beacon_session", Value: s.SessionID}
}

// call sends a request with a session cookie and returns status and body.
func call(t *testing.T, method, u string, c *http.Cookie, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if c != nil {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// newStreamer creates a streamer with a channel in the SQLite store at dbPath.
func newStreamer(t *testing.T, dbPath, login, title string, category store.CategoryID, tags []string) streamer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: dbPath})
	require.NoError(t, err)
	defer st.Close()
	a, err := auth.New(auth.Config{Store: st, Password: auth.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}})
	require.NoError(t, err)
	u, err := a.SignUp(ctx, auth.SignUpRequest{Login: login, Password: "correct horse battery", DisplayName: strings.ToUpper(login[:1]) + login[1:]})
	require.NoError(t, err)
	ch, key, err := a.CreateChannel(ctx, u.ID, store.NewChannel{OwnerID: u.ID, Title: title, CategoryID: category, Language: "en", Tags: tags})
	require.NoError(t, err)
	return streamer{channelID: fmt.Sprint(ch.ID), key: key}
}

// publish streams a synthetic H.264/AAC source with real ffmpeg until the test ends.
func publish(t *testing.T, rtmpAddr, key string) {
	t.Helper()
	publishSource(t, rtmpAddr, key, "testsrc2=size=640x360:rate=15")
}

// publishSource streams the lavfi video source src.
func publishSource(t *testing.T, rtmpAddr, key, src string) {
	t.Helper()
	ffmpeg := testenv.Command(t, "ffmpeg")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", src, "-f", "lavfi", "-i", "sine=frequency=440",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-t", "120", "-f", "flv", "rtmp://"+rtmpAddr+"/live/"+key)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
}

func getBody(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

type listing struct {
	Streams []struct {
		ChannelID    string   `json:"channel_id"`
		Login        string   `json:"login"`
		Title        string   `json:"title"`
		CategoryName string   `json:"category_name"`
		Tags         []string `json:"tags"`
		ViewerCount  string   `json:"viewer_count"`
		ThumbnailURL string   `json:"thumbnail_url"`
	} `json:"streams"`
	Channels []struct {
		ChannelID string `json:"channel_id"`
	} `json:"channels"`
}

// eventually polls f every 250ms until it returns true or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The whole platform in one process: two streamers go live over RTMP with
// ffmpeg; the directory lists them with titles, categories and tags; search
// finds them; ffprobe reads the adaptive HLS; a viewer watches in headless
// Chromium and is counted.
func TestEndToEndGoLiveAndWatch(t *testing.T) {
	ffprobe := testenv.Command(t, "ffprobe")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "beacon.db")
	s1 := newStreamer(t, dbPath, "speedy", "Any% speedrun world record attempts", 5, []string{"speedrun", "English"})
	s2 := newStreamer(t, dbPath, "painter", "Oil painting landscapes", 3, []string{"art"})

	a, _ := startBeacon(t, localArgs(dir), []string{"BEACON_MEDIA_SEGMENT_DURATION=1s"})
	base := "http://" + a.HTTP.String()
	publish(t, a.RTMP.String(), s1.key)
	publish(t, a.RTMP.String(), s2.key)

	var l listing
	eventually(t, 45*time.Second, "both channels listed live with their metadata", func() bool {
		code, b := getBody(t, base+"/v1/streams")
		l = listing{}
		return code == 200 && json.Unmarshal(b, &l) == nil && len(l.Streams) == 2 && l.Streams[0].Title != "" && l.Streams[1].Title != ""
	})
	byID := map[string]int{}
	for i, s := range l.Streams {
		byID[s.ChannelID] = i
	}
	require.Contains(t, byID, s1.channelID)
	require.Contains(t, byID, s2.channelID)
	got := l.Streams[byID[s1.channelID]]
	require.Equal(t, "Any% speedrun world record attempts", got.Title)
	require.Equal(t, "speedy", got.Login)
	require.Equal(t, []string{"speedrun", "english"}, got.Tags)
	require.NotEmpty(t, got.CategoryName)
	require.Equal(t, "Oil painting landscapes", l.Streams[byID[s2.channelID]].Title)

	code, b := getBody(t, base+"/v1/search/channels?"+url.Values{"query": {"paintng"}}.Encode())
	require.Equal(t, 200, code)
	l = listing{}
	require.NoError(t, json.Unmarshal(b, &l))
	require.Len(t, l.Channels, 1)
	require.Equal(t, s2.channelID, l.Channels[0].ChannelID)

	// The streamer renames the stream through the API; search follows.
	loginBody := `{"login":"speedy","password":"correct horse battery"}`
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(loginBody))
	require.NoError(t, err)
	var session struct {
		SessionID string `json:"session_id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&session))
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NotEmpty(t, session.SessionID)
	req, err := http.NewRequest(http.MethodPatch, base+"/v1/me/channel", strings.NewReader(`{"title":"Glitchless marathon tonight"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "beacon_session", Value: session.SessionID})
	renamed := time.Now()
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	pb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, string(pb))
	eventually(t, 5*time.Second, "the new title is searchable", func() bool {
		code, b := getBody(t, base+"/v1/search/channels?"+url.Values{"query": {"glitchless marathon"}}.Encode())
		l = listing{}
		return code == 200 && json.Unmarshal(b, &l) == nil && len(l.Channels) == 1 && l.Channels[0].ChannelID == s1.channelID
	})
	t.Logf("title change → searchable: %v", time.Since(renamed).Round(time.Millisecond))

	// Stream details and the adaptive playlist.
	var detail struct {
		Playback struct {
			Live       bool   `json:"live"`
			HLSURL     string `json:"hls_url"`
			Renditions []struct {
				Name   string `json:"name"`
				Height int    `json:"height"`
			} `json:"renditions"`
		} `json:"playback"`
	}
	eventually(t, 30*time.Second, "the ladder renditions are listed", func() bool {
		code, b := getBody(t, base+"/v1/streams/"+s1.channelID)
		return code == 200 && json.Unmarshal(b, &detail) == nil && detail.Playback.Live && len(detail.Playback.Renditions) >= 2
	})
	require.Equal(t, "/hls/"+s1.channelID+"/index.m3u8", detail.Playback.HLSURL)
	var master string
	eventually(t, 30*time.Second, "master playlist lists source and renditions", func() bool {
		code, b := getBody(t, base+detail.Playback.HLSURL)
		master = string(b)
		return code == 200 && strings.Count(master, "#EXT-X-STREAM-INF") >= 2
	})
	require.Contains(t, master, "RESOLUTION=640x360")
	probe, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0",
		base+"/hls/"+s1.channelID+"/source/main_stream.m3u8").CombinedOutput()
	require.NoError(t, err, string(probe))
	require.Contains(t, string(probe), "640,360")

	// A viewer in headless Chromium: the video plays and the viewer is counted.
	bctx := browser.New(t)
	bctx, bcancel := context.WithTimeout(bctx, 90*time.Second)
	defer bcancel()
	_, err = chromedp.Run(bctx, chromedp.Navigate(base+"/watch/speedy"))
	require.NoError(t, err)
	var start, current float64
	eventually(t, 45*time.Second, "video.currentTime advances", func() bool {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.getElementById("video").currentTime`))
		if err != nil {
			return false
		}
		if start == 0 && v > 0 {
			start = v
		}
		current = v
		return start > 0 && current > start+2
	})
	eventually(t, 20*time.Second, "the page shows the stream's title", func() bool {
		title, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("title").textContent`))
		return err == nil && title == "Glitchless marathon tonight"
	})
	eventually(t, 30*time.Second, "the viewer is counted in the directory", func() bool {
		code, b := getBody(t, base+"/v1/streams")
		l = listing{}
		if code != 200 || json.Unmarshal(b, &l) != nil {
			return false
		}
		for _, s := range l.Streams {
			if s.ChannelID == s1.channelID {
				return s.ViewerCount == "1"
			}
		}
		return false
	})
}

// Trust & safety end to end: a live stream whose frames cross a label's
// threshold (the harmless Drawing label, lowered for the test, on ffmpeg's
// testsrc pattern) is flagged by the real frame model; the flag reaches the
// moderators' queue with its evidence; a viewer may not see the queue; a
// moderator hides the channel and the directory drops it.
func TestEndToEndSafetyFlagAndReview(t *testing.T) {
	testenv.Require(t, "ONNXRUNTIME_LIB", "onnxruntime library")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "beacon.db")
	s := newStreamer(t, dbPath, "doodler", "Sketching cartoons live", 3, []string{"art"})
	newUser(t, dbPath, "modmary", store.RoleModerator)
	newUser(t, dbPath, "viewvic")

	env := []string{"BEACON_ML_FRAME_THRESHOLDS=Drawing=0.5", "BEACON_MEDIA_SAMPLE_INTERVAL=1s", "BEACON_MEDIA_LADDER=false"}
	a, _ := startBeacon(t, localArgs(dir), env)
	base := "http://" + a.HTTP.String()
	live := time.Now()
	publishSource(t, a.RTMP.String(), s.key, "testsrc=size=640x360:rate=15")
	eventually(t, 45*time.Second, "the channel is listed", func() bool {
		code, b := getBody(t, base+"/v1/streams")
		var l listing
		return code == 200 && json.Unmarshal(b, &l) == nil && len(l.Streams) == 1
	})

	mod := login(t, base, "modmary")
	type flag struct {
		ID        string  `json:"id"`
		ChannelID string  `json:"channel_id"`
		Kind      string  `json:"kind"`
		Label     string  `json:"label"`
		Score     float64 `json:"score"`
		State     string  `json:"state"`
	}
	var flags struct {
		Flags []flag `json:"flags"`
	}
	eventually(t, 60*time.Second, "a Drawing flag reaches the queue", func() bool {
		code, b := call(t, http.MethodGet, base+"/v1/flags?state=open", mod, "")
		flags.Flags = nil
		return code == 200 && json.Unmarshal(b, &flags) == nil && len(flags.Flags) > 0
	})
	t.Logf("live → flag in the queue: %v", time.Since(live).Round(100*time.Millisecond))
	f := flags.Flags[0]
	require.Equal(t, s.channelID, f.ChannelID)
	require.Equal(t, "frame", f.Kind)
	require.Equal(t, "Drawing", f.Label)
	require.GreaterOrEqual(t, f.Score, 0.5)

	code, b := call(t, http.MethodGet, base+"/v1/flags/"+f.ID, mod, "")
	require.Equal(t, 200, code, string(b))
	require.Contains(t, string(b), `"frame_jpeg":"/9j/`, "the evidence JPEG comes with the flag")

	viewer := login(t, base, "viewvic")
	code, b = call(t, http.MethodGet, base+"/v1/flags", viewer, "")
	require.Equal(t, 403, code, string(b))
	code, _ = call(t, http.MethodGet, base+"/v1/flags", nil, "")
	require.Equal(t, 401, code)

	code, b = call(t, http.MethodPost, base+"/v1/flags/"+f.ID+":review", mod, `{"decision":"confirm_hide"}`)
	require.Equal(t, 200, code, string(b))
	eventually(t, 10*time.Second, "the hidden channel leaves the directory", func() bool {
		code, b := getBody(t, base+"/v1/streams")
		var l listing
		return code == 200 && json.Unmarshal(b, &l) == nil && len(l.Streams) == 0
	})
}
