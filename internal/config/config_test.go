package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/internal/config"
)

func TestExampleFileIsTheDefaults(t *testing.T) {
	c, err := config.Load("../../beacon.example.yaml", nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, config.Default(), c)
}

func TestPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.yaml")
	require.NoError(t, os.WriteFile(path, []byte("http:\n  addr: 127.0.0.1:1000\ngrpc:\n  addr: 127.0.0.1:2000\nbus: kafka://127.0.0.1:9092\nshutdown_timeout: 3s\n"), 0o600))
	fs := flag.NewFlagSet("beacon", flag.ContinueOnError)
	config.Flags(fs)
	require.NoError(t, fs.Parse([]string{"-grpc.addr", "127.0.0.1:4000", "-demo"}))
	c, err := config.Load(path, []string{"BEACON_HTTP_ADDR=127.0.0.1:3000", "BEACON_GRPC_ADDR=127.0.0.1:3500", "HOME=/x"}, fs)
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, "127.0.0.1:3000", c.HTTP.Addr, "environment beats the file")
	require.Equal(t, "127.0.0.1:4000", c.GRPC.Addr, "flags beat the environment")
	require.Equal(t, "kafka://127.0.0.1:9092", c.Bus, "the file beats the defaults")
	require.Equal(t, config.Duration(3*time.Second), c.ShutdownTimeout)
	require.Equal(t, ":1935", c.RTMP.Addr, "defaults stay")
	require.True(t, c.Demo, "a bare boolean flag sets it")
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, ca := range []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", "htp:\n  addr: x\n", nil, "field htp not found"},
		{"bad yaml", "http: [\n", nil, "b.yaml"},
		{"bad duration", "shutdown_timeout: soon\n", nil, "soon"},
		{"unknown env", "", []string{"BEACON_NOPE=1"}, "unknown environment variable BEACON_NOPE"},
		{"bad env int", "", []string{"BEACON_BUS_PARTITIONS=many"}, `BEACON_BUS_PARTITIONS="many"`},
		{"bad env float", "", []string{"BEACON_ML_CHAT_THRESHOLD=high"}, `BEACON_ML_CHAT_THRESHOLD="high"`},
	} {
		t.Run(ca.name, func(t *testing.T) {
			path := filepath.Join(dir, "b.yaml")
			require.NoError(t, os.WriteFile(path, []byte(ca.file), 0o600))
			_, err := config.Load(path, ca.env, nil)
			require.ErrorContains(t, err, ca.want)
		})
	}
	_, err := config.Load(filepath.Join(dir, "missing.yaml"), nil, nil)
	require.ErrorContains(t, err, "missing.yaml")
}

func TestValidateNamesKeyAndValue(t *testing.T) {
	for _, ca := range []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"targets", func(c *config.Config) { c.Targets = "ingest,teleport" }, `'target' = "ingest,teleport"`},
		{"empty targets", func(c *config.Config) { c.Targets = " , " }, `'target'`},
		{"bus scheme", func(c *config.Config) { c.Bus = "redis://x" }, `'bus' = "redis://x"`},
		{"kafka no broker", func(c *config.Config) { c.Bus = "kafka://" }, `'bus' = "kafka://"`},
		{"kafka bad port", func(c *config.Config) { c.Bus = "kafka://h:99999" }, `'bus' = "kafka://h:99999"`},
		{"partitions", func(c *config.Config) { c.BusPartitions = 0 }, `'bus_partitions' = "0"`},
		{"search", func(c *config.Config) { c.Search = "solr://x" }, `'search' = "solr://x"`},
		{"db", func(c *config.Config) { c.DB = "mysql://x" }, `'db' = "mysql://x"`},
		{"http addr", func(c *config.Config) { c.HTTP.Addr = "8080" }, `'http.addr' = "8080"`},
		{"grpc addr", func(c *config.Config) { c.GRPC.Addr = ":abc" }, `'grpc.addr' = ":abc"`},
		{"timeout", func(c *config.Config) { c.HTTP.RequestTimeout = 0 }, `'http.request_timeout' = "0s"`},
		{"body", func(c *config.Config) { c.HTTP.MaxRequestBytes = 1 }, `'http.max_request_bytes' = "1"`},
		{"level", func(c *config.Config) { c.Log.Level = "loud" }, `'log.level' = "loud"`},
		{"format", func(c *config.Config) { c.Log.Format = "xml" }, `'log.format' = "xml"`},
		{"data dir", func(c *config.Config) { c.DataDir = "" }, `'data_dir'`},
		{"segment", func(c *config.Config) { c.Media.SegmentDuration = config.Duration(time.Minute) }, `'media.segment_duration' = "1m0s"`},
		{"sample", func(c *config.Config) { c.Media.SampleInterval = 0 }, `'media.sample_interval' = "0s"`},
		{"sample format", func(c *config.Config) { c.Media.SampleFormat = "png" }, `'media.sample_format' = "png"`},
		{"thresholds", func(c *config.Config) { c.ML.FrameThresholds = "Porn=2" }, `'ml.frame_thresholds' = "Porn=2"`},
		{"thresholds syntax", func(c *config.Config) { c.ML.FrameThresholds = "Porn" }, `'ml.frame_thresholds' = "Porn"`},
		{"chat threshold", func(c *config.Config) { c.ML.ChatThreshold = 0 }, `'ml.chat_threshold' = "0"`},
		{"ingest without media", func(c *config.Config) { c.Targets = "ingest,api" }, "ingest and media run together"},
	} {
		t.Run(ca.name, func(t *testing.T) {
			c := config.Default()
			ca.mod(&c)
			err := c.Validate()
			require.ErrorIs(t, err, config.ErrInvalid)
			require.ErrorContains(t, err, ca.want)
		})
	}
}

func TestStages(t *testing.T) {
	c := config.Default()
	require.Len(t, c.Stages(), 7)
	c.Targets = "ingest, media, api"
	require.Equal(t, []string{"ingest", "media", "api"}, c.Stages())
	require.True(t, c.Runs("api"))
	require.False(t, c.Runs("ml"))
}

func TestBusBrokers(t *testing.T) {
	b, err := config.BusBrokers("kafka://127.0.0.1:9092,kafka2:9093")
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:9092", "kafka2:9093"}, b)
	b, err = config.BusBrokers("mem://")
	require.NoError(t, err)
	require.Nil(t, b)
}

func FuzzBusBrokers(f *testing.F) {
	for _, s := range []string{"mem://", "kafka://a:1", "kafka://a:1,b:2", "kafka://", "kafka://:1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		brokers, err := config.BusBrokers(dsn)
		if err == nil && dsn != "mem://" && len(brokers) == 0 {
			t.Fatalf("accepted %q with no brokers", dsn)
		}
	})
}
