package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beaconlive/beacon/internal/mediabench"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/sqlitestore"
)

// loadGenFlag makes `beaconctl bench media` the load generator process
// that the benchmark starts (internal: stdin/stdout line protocol).
const loadGenFlag = "-loadgen-child"

func benchMedia(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && args[0] == loadGenFlag {
		return mediabench.RunLoadGen(ctx, os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("bench media", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg mediabench.Config
	streams := fs.String("streams", "10,25,50,100", "steps of the concurrent passthrough ramp, comma-separated")
	fs.DurationVar(&cfg.StepDuration, "step", 15*time.Second, "measuring window of each ramp step")
	fs.DurationVar(&cfg.LadderWindow, "ladder-window", 20*time.Second, "measuring window of the transcoded ladder")
	fs.IntVar(&cfg.FirstSegmentRuns, "first-segment-runs", 3, "publishes timed to their first playable segment")
	fs.IntVar(&cfg.LatencySegments, "latency-segments", 8, "segments whose latency is measured")
	fs.DurationVar(&cfg.SegmentDuration, "segment", 2*time.Second, "HLS segment duration")
	size := fs.String("size", "1280x720", "source video size")
	fs.IntVar(&cfg.Source.FPS, "fps", 30, "source frame rate")
	fs.IntVar(&cfg.Source.VideoBitrate, "bitrate", 3_000_000, "source video bitrate, bit/s")
	fs.StringVar(&cfg.X264Preset, "preset", "veryfast", "x264 preset of the ladder")
	fs.StringVar(&cfg.CacheDir, "cache", ".cache/mediabench", "folder caching the pre-encoded source")
	skip := fs.String("skip", "", "parts to leave out, comma-separated: first-segment, latency, streams, ladder")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	verbose := fs.Bool("v", false, "server logs on stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench media: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	for _, s := range strings.Split(*streams, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(stderr, "bench media: -streams: %v\n", err)
			return errUsage
		}
		cfg.Streams = append(cfg.Streams, n)
	}
	if _, err := fmt.Sscanf(*size, "%dx%d", &cfg.Source.Width, &cfg.Source.Height); err != nil {
		fmt.Fprintf(stderr, "bench media: -size %q: want WIDTHxHEIGHT\n", *size)
		return errUsage
	}
	for _, s := range strings.Split(*skip, ",") {
		switch strings.TrimSpace(s) {
		case "":
		case "first-segment":
			cfg.SkipFirstSegment = true
		case "latency":
			cfg.SkipLatency = true
		case "streams":
			cfg.SkipStreams = true
		case "ladder":
			cfg.SkipLadder = true
		default:
			fmt.Fprintf(stderr, "bench media: -skip: unknown part %q\n", s)
			return errUsage
		}
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench media: %w", err)
	}
	cfg.LoadGen = func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, self, "bench", "media", loadGenFlag)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd
	}
	cfg.OpenStore = func(ctx context.Context, dir string) (store.Store, error) {
		return sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "beacon.db")})
	}
	res, err := mediabench.Run(ctx, cfg)
	if res != nil {
		if werr := res.WriteTable(stdout); werr != nil {
			return werr
		}
		fmt.Fprintln(stdout)
		if werr := res.WriteBenchLines(stdout, "BenchmarkMedia"); werr != nil {
			return werr
		}
	}
	return err
}
