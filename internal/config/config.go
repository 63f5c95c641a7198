// Package config loads Beacon's configuration: defaults ← YAML file ← BEACON_* environment ← flags.
//
// Every leaf key has a dotted name (for example `http.addr`), which is also
// its flag name (`-http.addr`); its environment variable is BEACON_ followed
// by the name in upper case with dots as underscores (BEACON_HTTP_ADDR).
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("config: invalid")

// Duration is a time.Duration written as "2s", "500ms" in YAML.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Addr is a listen address.
type Addr struct {
	// Addr is host:port; an empty host listens on every interface.
	Addr string `yaml:"addr"`
}

// Config is Beacon's whole configuration.
type Config struct {
	// Targets are the stages this process runs: all, or a comma list of
	// ingest, media, ml, index, recommend, api, web.
	Targets string `yaml:"target"`
	// DataDir holds the embedded backends' files. It defaults to ./data.
	DataDir string `yaml:"data_dir"`
	// Bus is the bus DSN: mem:// or kafka://host1:9092,host2:9092.
	Bus string `yaml:"bus"`
	// BusPartitions is the number of partitions of each topic. It defaults to 8.
	BusPartitions int `yaml:"bus_partitions"`
	// Search is the search index DSN: bleve://./data/index or http://es:9200.
	Search string `yaml:"search"`
	// DB is the state store DSN: sqlite://./data/beacon.db or postgres://….
	DB string `yaml:"db"`

	// Demo seeds a demo streamer, viewer and moderator at start and prints
	// their credentials and a fresh stream key (make run sets it).
	Demo bool `yaml:"demo"`

	// Media configures the HLS pipeline.
	Media Media `yaml:"media"`
	// ML configures the safety models.
	ML ML `yaml:"ml"`

	HTTP  HTTP `yaml:"http"`
	GRPC  Addr `yaml:"grpc"`
	RTMP  Addr `yaml:"rtmp"`
	Admin Addr `yaml:"admin"`
	Log   Log  `yaml:"log"`

	// ShutdownTimeout bounds the graceful shutdown. It defaults to 20s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// HTTP configures the HTTP server (pages, REST, HLS, health, metrics).
type HTTP struct {
	// Addr defaults to :8080.
	Addr string `yaml:"addr"`
	// RequestTimeout bounds an API request. It defaults to 30s.
	RequestTimeout Duration `yaml:"request_timeout"`
	// MaxRequestBytes bounds a request body. It defaults to 1048576.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
}

// Media configures the media stage.
type Media struct {
	// Ladder turns the ffmpeg ABR ladder on. It defaults to true.
	Ladder bool `yaml:"ladder"`
	// LowLatency adds an LL-HLS variant of the source. It defaults to false.
	LowLatency bool `yaml:"low_latency"`
	// SegmentDuration of HLS segments. It defaults to 2s.
	SegmentDuration Duration `yaml:"segment_duration"`
	// SampleInterval is the time between two sampled frames per channel. It defaults to 2s.
	SampleInterval Duration `yaml:"sample_interval"`
	// SampleFormat is how samples travel on topic frames: rgb24 (raw, what
	// the models read with no lossy step; 150 KB at 224×224) or jpeg (about
	// 10× smaller). It defaults to rgb24.
	SampleFormat string `yaml:"sample_format"`
}

// ML configures the ml stage.
type ML struct {
	// OnnxruntimeLib is the onnxruntime 1.24.1 shared library. Empty means
	// $ONNXRUNTIME_LIB, else .cache/onnxruntime/libonnxruntime.so.1.24.1
	// (where `make run` puts it).
	OnnxruntimeLib string `yaml:"onnxruntime_lib"`
	// ModelsDir holds chat-safety.onnx and frame-safety.onnx. It defaults to ./models.
	ModelsDir string `yaml:"models_dir"`
	// FrameThresholds are the frame labels that flag, with their thresholds,
	// as "Label=0.8,Label=0.9". Labels: Drawing, Hentai, Neutral, Porn, Sexy.
	// It defaults to "Porn=0.8,Hentai=0.8,Sexy=0.9".
	FrameThresholds string `yaml:"frame_thresholds"`
	// ChatThreshold is the chat model's "unsafe" threshold. It defaults to 0.5.
	ChatThreshold float64 `yaml:"chat_threshold"`
}

// ParseThresholds parses "Label=0.8,Label=0.9".
func ParseThresholds(s string) (map[string]float32, error) {
	out := map[string]float32{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not Label=threshold", kv)
		}
		f, err := strconv.ParseFloat(v, 32)
		if err != nil || f <= 0 || f > 1 {
			return nil, fmt.Errorf("threshold of %s must be a number in (0,1], got %q", k, v)
		}
		out[k] = float32(f)
	}
	if len(out) == 0 {
		return nil, errors.New("names no label")
	}
	return out, nil
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. It defaults to info.
	Level string `yaml:"level"`
	// Format is text or json. It defaults to text.
	Format string `yaml:"format"`
}

// Default returns the configuration of `make run`: every stage, embedded backends.
func Default() Config {
	return Config{
		Targets:         "all",
		DataDir:         "./data",
		Bus:             "mem://",
		BusPartitions:   8,
		Search:          "bleve://./data/index",
		DB:              "sqlite://./data/beacon.db",
		HTTP:            HTTP{Addr: ":8080", RequestTimeout: Duration(30 * time.Second), MaxRequestBytes: 1 << 20},
		GRPC:            Addr{Addr: ":9090"},
		RTMP:            Addr{Addr: ":1935"},
		Admin:           Addr{Addr: ":6060"},
		Log:             Log{Level: "info", Format: "text"},
		ML:              ML{ModelsDir: "./models", FrameThresholds: "Porn=0.8,Hentai=0.8,Sexy=0.9", ChatThreshold: 0.5},
		Media:           Media{Ladder: true, SegmentDuration: Duration(2 * time.Second), SampleInterval: Duration(2 * time.Second), SampleFormat: "rgb24"},
		ShutdownTimeout: Duration(20 * time.Second),
	}
}

// Stages every target list may name.
var stages = []string{"ingest", "media", "ml", "index", "recommend", "api", "web"}

// Stages returns the stages Targets names, expanding "all".
func (c Config) Stages() []string {
	var out []string
	for _, s := range strings.Split(c.Targets, ",") {
		s = strings.TrimSpace(s)
		if s == "all" {
			return append([]string(nil), stages...)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Runs reports whether stage is among the configured targets.
func (c Config) Runs(stage string) bool {
	for _, s := range c.Stages() {
		if s == stage {
			return true
		}
	}
	return false
}

func invalid(key string, value any, why string) error {
	return fmt.Errorf("%w: '%s' = %q: %s", ErrInvalid, key, fmt.Sprint(value), why)
}

// Validate checks every key and names the first bad key and value.
func (c Config) Validate() error {
	if len(c.Stages()) == 0 {
		return invalid("target", c.Targets, "names no stage")
	}
	for _, s := range c.Stages() {
		ok := false
		for _, k := range stages {
			ok = ok || s == k
		}
		if !ok {
			return invalid("target", c.Targets, fmt.Sprintf("unknown stage %q (want all or %s)", s, strings.Join(stages, ", ")))
		}
	}
	if c.DataDir == "" {
		return invalid("data_dir", c.DataDir, "must not be empty")
	}
	if _, err := BusBrokers(c.Bus); err != nil {
		return invalid("bus", c.Bus, err.Error())
	}
	if c.BusPartitions < 1 || c.BusPartitions > 1024 {
		return invalid("bus_partitions", c.BusPartitions, "must be between 1 and 1024")
	}
	if err := checkScheme(c.Search, "bleve", "http", "https"); err != nil {
		return invalid("search", c.Search, err.Error())
	}
	if err := checkScheme(c.DB, "sqlite", "postgres", "postgresql"); err != nil {
		return invalid("db", c.DB, err.Error())
	}
	for _, a := range []struct{ key, addr string }{
		{"http.addr", c.HTTP.Addr}, {"grpc.addr", c.GRPC.Addr}, {"rtmp.addr", c.RTMP.Addr}, {"admin.addr", c.Admin.Addr},
	} {
		if err := checkAddr(a.addr); err != nil {
			return invalid(a.key, a.addr, err.Error())
		}
	}
	if c.HTTP.RequestTimeout <= 0 {
		return invalid("http.request_timeout", time.Duration(c.HTTP.RequestTimeout), "must be greater than zero")
	}
	if c.HTTP.MaxRequestBytes < 1024 {
		return invalid("http.max_request_bytes", c.HTTP.MaxRequestBytes, "must be at least 1024")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return invalid("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return invalid("log.format", c.Log.Format, "must be text or json")
	}
	if c.Media.SegmentDuration < Duration(500*time.Millisecond) || c.Media.SegmentDuration > Duration(20*time.Second) {
		return invalid("media.segment_duration", time.Duration(c.Media.SegmentDuration), "must be between 500ms and 20s")
	}
	if c.Media.SampleInterval < Duration(100*time.Millisecond) {
		return invalid("media.sample_interval", time.Duration(c.Media.SampleInterval), "must be at least 100ms")
	}
	if c.Media.SampleFormat != "rgb24" && c.Media.SampleFormat != "jpeg" {
		return invalid("media.sample_format", c.Media.SampleFormat, "must be rgb24 or jpeg")
	}
	if _, err := ParseThresholds(c.ML.FrameThresholds); err != nil {
		return invalid("ml.frame_thresholds", c.ML.FrameThresholds, err.Error())
	}
	if c.ML.ChatThreshold <= 0 || c.ML.ChatThreshold > 1 {
		return invalid("ml.chat_threshold", c.ML.ChatThreshold, "must be in (0,1]")
	}
	if c.ML.ModelsDir == "" {
		return invalid("ml.models_dir", c.ML.ModelsDir, "must not be empty")
	}
	if c.Runs("ingest") != c.Runs("media") {
		return invalid("target", c.Targets, "ingest and media run together in one process (ingest hands media the stream in memory)")
	}
	if c.ShutdownTimeout <= 0 {
		return invalid("shutdown_timeout", time.Duration(c.ShutdownTimeout), "must be greater than zero")
	}
	return nil
}

// BusBrokers parses a bus DSN: it returns nil for mem:// and the broker
// addresses for kafka://h1:9092,h2:9092.
func BusBrokers(dsn string) ([]string, error) {
	switch {
	case dsn == "mem://":
		return nil, nil
	case strings.HasPrefix(dsn, "kafka://"):
		rest := strings.TrimPrefix(dsn, "kafka://")
		if rest == "" {
			return nil, errors.New("kafka:// needs at least one broker host:port")
		}
		var out []string
		for _, h := range strings.Split(rest, ",") {
			if err := checkAddr(h); err != nil {
				return nil, fmt.Errorf("broker %q: %w", h, err)
			}
			host, _, _ := net.SplitHostPort(h)
			if host == "" {
				return nil, fmt.Errorf("broker %q: needs a host", h)
			}
			out = append(out, h)
		}
		return out, nil
	default:
		return nil, errors.New("unsupported scheme (want mem:// or kafka://host:port,...)")
	}
}

func checkScheme(dsn string, schemes ...string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("unsupported scheme %q (want %s)", u.Scheme, strings.Join(schemes, ", "))
}

func checkAddr(a string) error {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("must be host:port: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return nil
}

// Load builds the configuration from defaults, then the YAML file at path
// (if path is not empty), then environment variables, then the flags of fs
// that were set on the command line. fs must have been created by Flags and
// parsed. It does not validate.
func Load(path string, environ []string, fs *flag.FlagSet) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "BEACON_") {
			continue
		}
		f, ok := envKeys(&c)[k]
		if !ok {
			return c, fmt.Errorf("config: unknown environment variable %s", k)
		}
		if err := setValue(f.v, v); err != nil {
			return c, fmt.Errorf("config: %s=%q: %w", k, v, err)
		}
	}
	if fs != nil {
		var err error
		fields := keys(&c)
		fs.Visit(func(fl *flag.Flag) {
			f, ok := fields[fl.Name]
			if !ok || err != nil {
				return
			}
			if e := setValue(f.v, fl.Value.String()); e != nil {
				err = fmt.Errorf("config: -%s=%q: %w", fl.Name, fl.Value.String(), e)
			}
		})
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// Flags registers one flag per configuration key on fs, for Load to apply.
func Flags(fs *flag.FlagSet) {
	d := Default()
	for name, f := range keys(&d) {
		if f.v.Kind() == reflect.Bool {
			fs.Bool(name, f.v.Bool(), f.doc)
			continue
		}
		fs.String(name, fmt.Sprint(textOf(f.v)), f.doc)
	}
}

type field struct {
	v   reflect.Value
	doc string
}

// keys maps every dotted key of c to its field.
func keys(c *Config) map[string]field {
	out := map[string]field{}
	walk(reflect.ValueOf(c).Elem(), "", out)
	return out
}

func envKeys(c *Config) map[string]field {
	out := map[string]field{}
	for k, f := range keys(c) {
		out["BEACON_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = f
	}
	return out
}

var durationType = reflect.TypeOf(Duration(0))

func walk(v reflect.Value, prefix string, out map[string]field) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			walk(fv, key+".", out)
			continue
		}
		out[key] = field{v: fv, doc: "config key " + key}
	}
}

func textOf(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int())
	}
	return v.Interface()
}

func setValue(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		v.SetBool(b)
	default:
		return fmt.Errorf("unsupported kind %s", v.Kind())
	}
	return nil
}
