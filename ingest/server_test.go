package ingest

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"
)

// keyCases feed the unit test, the fuzz seeds and the benchmark.
var keyCases = []struct {
	url  string
	ok   bool
	want string
}{
	{"rtmp://host/live/abc123", true, "abc123"},
	{"rtmp://host:1935/live/live_0123456789abcdef?foo=bar", true, "live_0123456789abcdef"},
	{"rtmp://host/live/a.b-c_d~e", true, "a.b-c_d~e"},
	{"rtmp://host/live/", false, ""},
	{"rtmp://host/live", false, ""},
	{"rtmp://host/other/abc", false, ""},
	{"rtmp://host/live/abc/def", false, ""},
	{"rtmp://host/live/..", false, ""},
	{"rtmp://host/live/a%20b", false, ""},
	{"rtmp://host/live/" + strings.Repeat("k", 257), false, ""},
	{"rtmp://host//live/abc", false, ""},
}

func TestParseStreamKey(t *testing.T) {
	for _, ca := range keyCases {
		t.Run(ca.url, func(t *testing.T) {
			u, err := url.Parse(ca.url)
			require.NoError(t, err)
			key, err := parseStreamKey(u, "live")
			if !ca.ok {
				require.ErrorIs(t, err, errBadKey)
				return
			}
			require.NoError(t, err)
			require.Equal(t, ca.want, key)
		})
	}
	_, err := parseStreamKey(nil, "live")
	require.ErrorIs(t, err, errBadKey)
}

func FuzzParseStreamKey(f *testing.F) {
	for _, ca := range keyCases {
		f.Add(ca.url)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		key, err := parseStreamKey(u, "live")
		if err != nil {
			return
		}
		require.True(t, validKey(key))
		require.Equal(t, "/live/"+key, "/"+strings.TrimPrefix(u.Path, "/"))
	})
}

func BenchmarkParseStreamKey(b *testing.B) {
	u, _ := url.Parse("rtmp://host:1935/live/live_0123456789abcdef")
	for b.Loop() {
		_, _ = parseStreamKey(u, "live")
	}
}

func TestCheckTracks(t *testing.T) {
	h264 := &gortmplib.Track{Codec: &codecs.H264{SPS: []byte{0x67}, PPS: []byte{0x68}}}
	aac := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &mpeg4audio.AudioSpecificConfig{
		Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelConfig: 2}}}
	mp3 := &gortmplib.Track{Codec: &codecs.MPEG1Audio{}}
	h265 := &gortmplib.Track{Codec: &codecs.H265{}}
	for _, ca := range []struct {
		name   string
		tracks []*gortmplib.Track
		err    string
	}{
		{"h264+aac", []*gortmplib.Track{h264, aac}, ""},
		{"h264 only", []*gortmplib.Track{h264}, ""},
		{"no video", []*gortmplib.Track{aac}, "no video track"},
		{"h265", []*gortmplib.Track{h265, aac}, "unsupported video codec"},
		{"mp3", []*gortmplib.Track{h264, mp3}, "unsupported audio codec"},
		{"two videos", []*gortmplib.Track{h264, h264}, "more than one video track"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			_, _, _, _, err := checkTracks(ca.tracks)
			if ca.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, ca.err)
			require.Contains(t, codecMessage(err.Error()), "H.264")
		})
	}
}

type nopKeys struct{}

func (nopKeys) VerifyStreamKey(context.Context, string) (string, error) { return "c", nil }

type nopSink struct{}

func (nopSink) OpenStream(string, StreamParams) (StreamWriter, error) { return nil, net.ErrClosed }

func TestConfig(t *testing.T) {
	_, err := New(Config{Sink: nopSink{}})
	require.ErrorContains(t, err, "'Keys'")
	_, err = New(Config{Keys: nopKeys{}})
	require.ErrorContains(t, err, "'Sink'")
	c := Config{}.withDefaults()
	require.Equal(t, ":1935", c.Address)
	require.Equal(t, "live", c.App)
	require.Equal(t, 10*time.Second, c.HandshakeTimeout)
	require.Equal(t, 10*time.Second, c.IdleTimeout)
	require.Equal(t, 1000, c.MaxConnections)
}

// TestMaxConnections: connections beyond the cap are closed at once and
// counted; a connection that never completes the handshake is closed after
// the handshake timeout.
func TestMaxConnections(t *testing.T) {
	s, err := New(Config{Address: "127.0.0.1:0", Keys: nopKeys{}, Sink: nopSink{}, MaxConnections: 2,
		HandshakeTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()

	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
	}
	time.Sleep(100 * time.Millisecond)
	extra, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = extra.Read(make([]byte, 1))
	require.Error(t, err, "the connection over the cap is closed")
	require.Eventually(t, func() bool { return s.Rejected(ReasonMaxConnections) == 1 }, time.Second, 10*time.Millisecond)

	// The idle ones are closed by the handshake timeout.
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = c.Read(make([]byte, 1))
		require.Error(t, err)
		var ne net.Error
		if e, ok := err.(net.Error); ok {
			ne = e
		}
		require.False(t, ne != nil && ne.Timeout(), "closed by the server, not by our deadline")
	}
	require.Eventually(t, func() bool { return s.Rejected(ReasonHandshake) == 2 }, time.Second, 10*time.Millisecond)
}
