package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/kafkabus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/internal/admin"
	"github.com/beaconlive/beacon/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// started is told the bound addresses once every listener serves (tests use it).
type started func(httpAddr, grpcAddr, adminAddr net.Addr)

// run parses args and environ, starts the configured stages and blocks until
// ctx ends, then shuts everything down and waits for it.
func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	return runWith(ctx, args, environ, stdout, nil)
}

func runWith(ctx context.Context, args, environ []string, stdout io.Writer, onStart started) error {
	fs := flag.NewFlagSet("beacon", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", "", "path of a YAML configuration file (see beacon.example.yaml)")
	config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, environ, fs)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.Log, stdout)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}

	b, busScheme, err := openBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beacon_bus_dead_lettered_total", Help: "Messages moved to a dead-letter topic, by topic.",
	}, []string{"topic"})
	reg.MustRegister(dead)
	if mb, ok := b.(*membus.Bus); ok {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "beacon_bus_frames_dropped_total", Help: "Frame samples the in-process bus dropped under overload.",
		}, func() float64 { return float64(mb.Dropped(event.TopicFrames)) }))
	}

	g, gctx := errgroup.WithContext(ctx)
	adm := admin.New(admin.Config{Addr: cfg.Admin.Addr, Logger: log.With("component", "admin")})
	g.Go(func() error { return adm.Run(gctx) })

	var api *server.Server
	if cfg.Runs("api") || cfg.Runs("web") {
		api, err = server.New(server.Config{
			HTTPAddr:        cfg.HTTP.Addr,
			GRPCAddr:        cfg.GRPC.Addr,
			RequestTimeout:  time.Duration(cfg.HTTP.RequestTimeout),
			MaxRequestBytes: cfg.HTTP.MaxRequestBytes,
			ShutdownTimeout: time.Duration(cfg.ShutdownTimeout),
			Version:         version,
			Targets:         cfg.Stages(),
			Bus:             busScheme,
			Registry:        reg,
			QuietPaths:      map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true},
			Logger:          log.With("component", "api"),
		})
		if err != nil {
			return err
		}
		api.AddCheck("bus", b.Ping)
		g.Go(func() error { return api.Run(gctx) })
	}
	log.Info("beacon starting", "version", version, "targets", strings.Join(cfg.Stages(), ","), "bus", busScheme, "data_dir", cfg.DataDir)

	g.Go(func() error {
		var httpAddr, grpcAddr net.Addr
		if api != nil {
			var err error
			if httpAddr, grpcAddr, err = api.Addrs(gctx); err != nil {
				return nil // shutting down before serving
			}
		}
		adminAddr, err := adm.Addr(gctx)
		if err != nil {
			return nil
		}
		if api != nil {
			base := "http://" + displayAddr(httpAddr)
			fmt.Fprintf(stdout, "\nBeacon is running.\n  web and REST  %s\n  version       %s/v1/version\n  health        %s/healthz  %s/readyz\n  metrics       %s/metrics\n  OpenAPI       %s/openapi.json\n  gRPC          %s (grpcurl -plaintext %s list)\n  pprof         http://%s/debug/pprof/\n\n",
				base, base, base, base, base, base, displayAddr(grpcAddr), displayAddr(grpcAddr), displayAddr(adminAddr))
		}
		if onStart != nil {
			onStart(httpAddr, grpcAddr, adminAddr)
		}
		return nil
	})

	err = g.Wait()
	log.Info("beacon stopped", "error", err)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// openBus picks the bus backend by DSN scheme.
func openBus(ctx context.Context, cfg config.Config, log *slog.Logger) (bus.Bus, string, error) {
	topics := event.Topics(cfg.BusPartitions)
	brokers, err := config.BusBrokers(cfg.Bus)
	if err != nil {
		return nil, "", err
	}
	if brokers == nil {
		b, err := membus.New(membus.Config{Topics: topics, Logger: log.With("component", "bus")})
		return b, "mem", err
	}
	b, err := kafkabus.New(ctx, kafkabus.Config{Brokers: brokers, Topics: topics, Logger: log.With("component", "bus")})
	if err != nil {
		return nil, "", fmt.Errorf("bus: %w", err)
	}
	return b, "kafka", nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// displayAddr shows a wildcard listen address as localhost.
func displayAddr(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
