package media

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// ladderCases feed the golden test of ladderArgs.
var ladderCases = []struct {
	name string
	in   ladderInput
}{
	{"720p30_default_ladder", ladderInput{
		SourceWidth: 1280, SourceHeight: 720, SourceFPS: 30, HasAudio: true,
		Renditions: DefaultRenditions(), SegmentDuration: 2 * time.Second, PlaylistSegments: 6,
		Preset: "veryfast", OutDir: "/work/b1", RunID: "run1",
	}},
	{"1080p60_default_ladder_fps_capped", ladderInput{
		SourceWidth: 1920, SourceHeight: 1080, SourceFPS: 60, HasAudio: true,
		Renditions: DefaultRenditions(), SegmentDuration: 2 * time.Second, PlaylistSegments: 6,
		Preset: "veryfast", OutDir: "/work/b2", RunID: "run2",
	}},
	{"480p_source_never_upscaled", ladderInput{
		SourceWidth: 854, SourceHeight: 480, SourceFPS: 25, HasAudio: true,
		Renditions: DefaultRenditions(), SegmentDuration: 2 * time.Second, PlaylistSegments: 6,
		Preset: "veryfast", OutDir: "/work/b3", RunID: "run3",
	}},
	{"240p_source_single_rendition_no_audio", ladderInput{
		SourceWidth: 320, SourceHeight: 240, SourceFPS: 15,
		Renditions: DefaultRenditions(), SegmentDuration: 4 * time.Second, PlaylistSegments: 5,
		Preset: "superfast", OutDir: "/work/b4", RunID: "run4",
	}},
	{"unknown_fps_4by3", ladderInput{
		SourceWidth: 1024, SourceHeight: 768, HasAudio: true,
		Renditions: DefaultRenditions(), SegmentDuration: 2 * time.Second, PlaylistSegments: 6,
		Preset: "veryfast", OutDir: "/work/b5", RunID: "run5",
	}},
}

func TestLadderArgsGolden(t *testing.T) {
	for _, ca := range ladderCases {
		t.Run(ca.name, func(t *testing.T) {
			args, _ := ladderArgs(ca.in)
			got := strings.Join(args, "\n") + "\n"
			path := filepath.Join("testdata", "ladder", ca.name+".args")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./media -run TestLadderArgsGolden -update")
			require.Equal(t, string(want), got)
		})
	}
}

func TestPlanLadder(t *testing.T) {
	for _, ca := range []struct {
		name       string
		w, h       int
		fps        float64
		wantNames  []string
		wantSizes  []Size
		wantFPS    []float64
		wantLevels []string
	}{
		{"720p30", 1280, 720, 30, []string{"720p", "480p", "360p", "160p"},
			[]Size{{1280, 720}, {854, 480}, {640, 360}, {284, 160}}, []float64{30, 30, 30, 30},
			[]string{"3.1", "3.1", "3", "1.3"}},
		{"1080p60", 1920, 1080, 60, []string{"720p", "480p", "360p", "160p"},
			[]Size{{1280, 720}, {854, 480}, {640, 360}, {284, 160}}, []float64{30, 30, 30, 30},
			[]string{"3.1", "3.1", "3", "1.3"}},
		{"360p", 640, 360, 30, []string{"360p", "160p"}, []Size{{640, 360}, {284, 160}}, []float64{30, 30},
			[]string{"3", "1.3"}},
		{"tiny", 160, 90, 30, nil, nil, nil, nil},
		{"portrait", 720, 1280, 30, []string{"720p", "480p", "360p", "160p"},
			[]Size{{406, 720}, {270, 480}, {202, 360}, {90, 160}}, []float64{30, 30, 30, 30},
			[]string{"3", "2.1", "2", "1.3"}},
	} {
		t.Run(ca.name, func(t *testing.T) {
			plan := planLadder(ca.w, ca.h, ca.fps, DefaultRenditions())
			var names []string
			var sizes []Size
			var fps []float64
			var levels []string
			for _, p := range plan {
				names = append(names, p.Name)
				sizes = append(sizes, Size{p.Width, p.Height})
				fps = append(fps, p.OutFPS)
				levels = append(levels, p.Level)
				require.Zero(t, p.Width%2)
				require.LessOrEqual(t, p.Height, ca.h, "upscaled")
			}
			require.Equal(t, ca.wantNames, names)
			require.Equal(t, ca.wantSizes, sizes)
			require.Equal(t, ca.wantFPS, fps)
			require.Equal(t, ca.wantLevels, levels)
		})
	}
}

func TestLadderArgsNoRendition(t *testing.T) {
	args, plan := ladderArgs(ladderInput{SourceWidth: 100, SourceHeight: 60, Renditions: DefaultRenditions(),
		SegmentDuration: 2 * time.Second, PlaylistSegments: 6, Preset: "veryfast"})
	require.Nil(t, args)
	require.Nil(t, plan)
}

func TestMasterPlaylist(t *testing.T) {
	got := masterPlaylist([]variant{
		{URI: "source/main_stream.m3u8", Bandwidth: 4_000_000, Width: 1280, Height: 720, FPS: 30,
			Codecs: "avc1.64001f,mp4a.40.2"},
		{URI: "480p/index.m3u8", Bandwidth: 1_800_000, Width: 854, Height: 480, FPS: 29.97,
			Codecs: "avc1.4d401f,mp4a.40.2"},
		{URI: "160p/index.m3u8", Bandwidth: 0, Codecs: "avc1.4d400d"},
	})
	want := `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=4000000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2"
source/main_stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1800000,RESOLUTION=854x480,FRAME-RATE=29.970,CODECS="avc1.4d401f,mp4a.40.2"
480p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.4d400d"
160p/index.m3u8
`
	require.Equal(t, want, string(got))
}

func TestTapArgs(t *testing.T) {
	require.Equal(t, Size{300, 224}, tapFrameSize(1280, 960, []Size{{224, 224}}))
	require.Equal(t, Size{640, 360}, tapFrameSize(1280, 720, []Size{{224, 224}, {320, 180}, {640, 360}}))
	require.Equal(t, Size{320, 240}, tapFrameSize(320, 240, []Size{{640, 360}}), "never upscaled")
	args := strings.Join(tapArgs(tapInput{Width: 300, Height: 224}), " ")
	require.Contains(t, args, "-f flv -i pipe:0")
	require.Contains(t, args, "scale=300:224:flags=area,format=rgba")
	require.Contains(t, args, "-fps_mode passthrough -f rawvideo")
}

func TestConfigValidate(t *testing.T) {
	ok := Config{}.withDefaults()
	require.NoError(t, ok.validate())
	for _, ca := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"short segment", func(c *Config) { c.SegmentDuration = time.Millisecond }, "SegmentDuration"},
		{"bad rendition name", func(c *Config) { c.Renditions = []Rendition{{Name: "../x", Height: 100, FPS: 30, VideoBitrate: 1e6}} }, "Renditions[0].Name"},
		{"reserved rendition name", func(c *Config) { c.Renditions = []Rendition{{Name: "source", Height: 100, FPS: 30, VideoBitrate: 1e6}} }, "Renditions[0].Name"},
		{"duplicate rendition", func(c *Config) {
			c.Renditions = []Rendition{{Name: "a", Height: 100, FPS: 30, VideoBitrate: 1e6}, {Name: "a", Height: 50, FPS: 30, VideoBitrate: 1e6}}
		}, "repeated"},
		{"odd sample", func(c *Config) { c.SampleSize = Size{223, 224} }, "SampleSize"},
		{"bad preset", func(c *Config) { c.X264Preset = "fast;rm" }, "X264Preset"},
		{"bad quality", func(c *Config) { c.JPEGQuality = 101 }, "JPEGQuality"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			c := Config{}.withDefaults()
			ca.mod(&c)
			err := c.validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), ca.want)
		})
	}
}
