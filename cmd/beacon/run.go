package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/beaconlive/beacon/api/server"
	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/bus/membus"
	"github.com/beaconlive/beacon/event"
	"github.com/beaconlive/beacon/ingest"
	"github.com/beaconlive/beacon/internal/admin"
	"github.com/beaconlive/beacon/internal/config"
	"github.com/beaconlive/beacon/media"
	"github.com/beaconlive/beacon/moderation"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/indexer"
	"github.com/beaconlive/beacon/store"
	"github.com/beaconlive/beacon/store/seed"
	"github.com/beaconlive/beacon/viewers"
	"github.com/beaconlive/beacon/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Addrs are the bound addresses of a running process (tests use them).
type Addrs struct {
	HTTP, GRPC, Admin, RTMP net.Addr
}

// started is told the bound addresses once every listener serves.
type started func(Addrs)

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

	// Backends: each is opened only when a stage of this process needs it.
	b, busScheme, err := openBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	deadLetters := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "beacon_bus_dead_lettered_total", Help: "Messages moved to a dead-letter topic, by consumer.",
	}, []string{"consumer"})
	reg.MustRegister(deadLetters)
	if mb, ok := b.(*membus.Bus); ok {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "beacon_bus_frames_dropped_total", Help: "Frame samples the in-process bus dropped under overload.",
		}, func() float64 { return float64(mb.Dropped(event.TopicFrames)) }))
	}

	var st store.Store
	if cfg.Runs("api") || cfg.Runs("web") || cfg.Runs("ingest") {
		if st, err = openStore(ctx, cfg.DB, log); err != nil {
			return fmt.Errorf("db: %w", err)
		}
		defer st.Close()
	}
	var authSvc *auth.Service
	if st != nil {
		if authSvc, err = auth.New(auth.Config{Store: st, Logger: log.With("component", "auth")}); err != nil {
			return err
		}
	}
	var idx search.Index
	if cfg.Runs("api") || cfg.Runs("web") || cfg.Runs("index") {
		if idx, err = openIndex(ctx, cfg.Search, log); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		defer idx.Close()
	}

	// Authentication and rate limits on every API call (the access table
	// lives in api/server/auth.go).
	var interceptors []grpc.UnaryServerInterceptor
	var streamInterceptors []grpc.StreamServerInterceptor
	credLimiter := auth.NewLimiter(auth.LimiterConfig{Rate: 1, Burst: 10})
	if authSvc != nil {
		authn, err := server.NewAuthenticator(server.AuthConfig{
			Auth: authSvc, Logger: log.With("component", "api"),
			Limiter: auth.NewLimiter(auth.LimiterConfig{}), CredentialLimiter: credLimiter,
		})
		if err != nil {
			return err
		}
		interceptors = append(interceptors, authn.Interceptor())
		streamInterceptors = append(streamInterceptors, authn.StreamInterceptor())
	}
	// Evidence of flagged frames: written by the ml stage, read by reviewers.
	var evidence *moderation.Evidence
	if cfg.Runs("api") || cfg.Runs("ml") {
		if evidence, err = moderation.NewEvidence(moderation.EvidenceConfig{Dir: filepath.Join(cfg.DataDir, "evidence"), Logger: log.With("component", "evidence")}); err != nil {
			return err
		}
		defer evidence.Close()
	}

	api, err := server.New(server.Config{
		Interceptors:       interceptors,
		StreamInterceptors: streamInterceptors,
		HTTPAddr:           cfg.HTTP.Addr,
		GRPCAddr:           cfg.GRPC.Addr,
		RequestTimeout:     time.Duration(cfg.HTTP.RequestTimeout),
		MaxRequestBytes:    cfg.HTTP.MaxRequestBytes,
		ShutdownTimeout:    time.Duration(cfg.ShutdownTimeout),
		Version:            version,
		Targets:            cfg.Stages(),
		Bus:                busScheme,
		Registry:           reg,
		QuietPaths:         map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true},
		Logger:             log.With("component", "api"),
	})
	if err != nil {
		return err
	}
	api.AddCheck("bus", b.Ping)
	if st != nil {
		api.AddCheck("db", st.Ping)
	}
	if idx != nil {
		api.AddCheck("search", func(ctx context.Context) error {
			_, err := idx.Search(ctx, search.Query{Limit: 1})
			return err
		})
	}

	g, gctx := errgroup.WithContext(ctx)
	adm := admin.New(admin.Config{Addr: cfg.Admin.Addr, Logger: log.With("component", "admin")})
	g.Go(func() error { return adm.Run(gctx) })

	// media + ingest: RTMP in, HLS out, frames and lifecycle events to the bus.
	var rtmp *ingest.Server
	var mediaSrv *media.Server
	if cfg.Runs("media") {
		pub := mediaPublisher{bus: b, channels: st, log: log.With("component", "media")}
		mediaSrv, err = media.New(media.Config{
			WorkDir:         filepath.Join(cfg.DataDir, "media"),
			SegmentDuration: time.Duration(cfg.Media.SegmentDuration),
			LowLatency:      cfg.Media.LowLatency,
			LadderDisabled:  !cfg.Media.Ladder,
			SampleInterval:  time.Duration(cfg.Media.SampleInterval),
			SampleRGB:       cfg.Media.SampleFormat == "rgb24",
			Frames:          pub,
			Events:          pub,
			Logger:          log.With("component", "media"),
			Registerer:      reg,
		})
		if err != nil {
			return err
		}
		rtmp, err = ingest.New(ingest.Config{
			Address:    cfg.RTMP.Addr,
			Keys:       auth.IngestKeys{Service: authSvc},
			Sink:       mediaSrv,
			Logger:     log.With("component", "ingest"),
			Registerer: reg,
		})
		if err != nil {
			return err
		}
		tracker := viewers.New(viewers.Config{Publisher: b, Logger: log.With("component", "viewers")})
		hls := tracker.Middleware(mediaSrv, isPlaylist)
		api.Handle("/hls/", hls)
		api.Handle("/thumbnails/", mediaSrv)
		ender := streamEnder{sub: b, ingest: rtmp, log: log.With("component", "ingest"),
			wrap: bus.DeadLetter{Publisher: b, Logger: log, Counter: deadLetters.WithLabelValues("ingest-moderation")}.Wrap}
		g.Go(func() error { return mediaSrv.Run(gctx) })
		g.Go(func() error { return rtmp.Run(gctx) })
		g.Go(func() error { return ender.Run(gctx) })
		g.Go(func() error { return tracker.Run(gctx) })
	}

	if cfg.Runs("ml") {
		w, closeModels, err := openSafety(cfg, environ, b, evidence, reg, log.With("component", "ml"))
		if err != nil {
			return fmt.Errorf("ml: %w", err)
		}
		defer closeModels()
		g.Go(func() error { return w.Run(gctx) })
		if !cfg.Runs("api") {
			g.Go(func() error { return evidence.Run(gctx) })
		}
	}

	if cfg.Runs("index") {
		ix := indexer.New(b, idx, indexer.Config{Logger: log})
		ix.Wrap = bus.DeadLetter{Publisher: b, Logger: log.With("component", "indexer"), Counter: deadLetters.WithLabelValues("indexer")}.Wrap
		g.Go(func() error { return ix.Run(gctx) })
	}

	if cfg.Runs("api") {
		var live interface {
			Live(string) (server.LiveInfo, bool)
		}
		if mediaSrv != nil {
			live = liveSource{media: mediaSrv}
		}
		server.NewDirectoryService(idx, st, live).Register(api)
		directory := mediaPublisher{bus: b, channels: st, log: log.With("component", "api")}
		accounts, err := server.NewAccountsService(server.AccountsConfig{
			Auth: authSvc, Store: st, Logger: log.With("component", "api"),
			OnChannelChanged: func(ctx context.Context, ch store.Channel) error {
				return directory.PublishMetadata(ctx, strconv.FormatInt(int64(ch.ID), 10))
			},
		})
		if err != nil {
			return err
		}
		accounts.Register(api)
		oauth, err := server.NewOAuth2(server.OAuth2Config{Auth: authSvc, Limiter: credLimiter, Logger: log.With("component", "api")})
		if err != nil {
			return err
		}
		oauth.Register(api)

		// Trust & safety: raised flags are recorded in the store; moderators
		// review them through FlagsService.
		rec, err := moderation.NewRecorder(moderation.RecorderConfig{Logger: log.With("component", "moderation"), DeadLetters: deadLetters.WithLabelValues("moderation")}, b, b, st)
		if err != nil {
			return err
		}
		rev, err := moderation.NewReviewer(moderation.ReviewerConfig{Logger: log.With("component", "moderation")}, st, b, keyRevoker{keys: st})
		if err != nil {
			return err
		}
		flagsSvc, err := server.NewFlagsService(st, rev, evidence, reviewerFrom, log.With("component", "api"))
		if err != nil {
			return err
		}
		flagsSvc.Register(api)
		g.Go(func() error { return rec.Run(gctx) })
		g.Go(func() error { return evidence.Run(gctx) })
	}
	if cfg.Runs("web") {
		pages, err := web.New(web.Config{Channels: channelNames{st}, Logger: log.With("component", "web")})
		if err != nil {
			return err
		}
		pages.Register(api)
	}
	g.Go(func() error { return api.Run(gctx) })

	if cfg.Demo && st != nil {
		creds, err := seed.Demo(ctx, st)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer func() { _ = creds }()
		g.Go(func() error {
			if _, _, err := api.Addrs(gctx); err != nil {
				return nil
			}
			fmt.Fprintf(stdout, "%s\n", creds.String())
			if rtmp != nil {
				fmt.Fprintf(stdout, "Go live:  ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv rtmp://%s/live/%s\nWatch:    http://%s/watch/%s\n\n",
					displayAddr(rtmp.Addr()), creds.StreamKey, displayAddrOrEmpty(api), creds.ChannelName)
			}
			return nil
		})
	}
	for _, stage := range cfg.Stages() {
		if notBuilt[stage] {
			log.Warn("stage has nothing to run yet in this build", "stage", stage)
		}
	}
	log.Info("beacon starting", "version", version, "targets", strings.Join(cfg.Stages(), ","), "bus", busScheme, "data_dir", cfg.DataDir)

	g.Go(func() error {
		httpAddr, grpcAddr, err := api.Addrs(gctx)
		if err != nil {
			return nil // shutting down before serving
		}
		adminAddr, err := adm.Addr(gctx)
		if err != nil {
			return nil
		}
		a := Addrs{HTTP: httpAddr, GRPC: grpcAddr, Admin: adminAddr}
		if rtmp != nil {
			a.RTMP = rtmp.Addr()
		}
		base := "http://" + displayAddr(httpAddr)
		fmt.Fprintf(stdout, "\nBeacon is running (%s).\n  web and REST  %s\n  version       %s/v1/version\n  health        %s/healthz  %s/readyz\n  metrics       %s/metrics\n  OpenAPI       %s/openapi.json\n  gRPC          %s (grpcurl -plaintext %s list)\n  pprof         http://%s/debug/pprof/\n",
			strings.Join(cfg.Stages(), ","), base, base, base, base, base, base, displayAddr(grpcAddr), displayAddr(grpcAddr), displayAddr(adminAddr))
		if a.RTMP != nil {
			fmt.Fprintf(stdout, "  RTMP ingest   rtmp://%s/live/{stream_key}\n", displayAddr(a.RTMP))
		}
		fmt.Fprintln(stdout)
		if onStart != nil {
			onStart(a)
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

// reviewerFrom is the signed-in user reviewing a flag.
func reviewerFrom(ctx context.Context) (int64, bool) {
	p, ok := server.PrincipalFrom(ctx)
	if !ok || p.Kind != auth.PrincipalUser {
		return 0, false
	}
	return int64(p.UserID), true
}

// notBuilt lists the stages of DESIGN.md that this build does not have yet:
// naming them in -target is allowed (the deployment stays the same) but they
// run nothing.
var notBuilt = map[string]bool{"recommend": true}

// isPlaylist says which HLS requests mark a viewer as present: playlist
// fetches, which players repeat every segment while watching.
func isPlaylist(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/hls/")
	if !ok || !strings.HasSuffix(rest, ".m3u8") {
		return "", false
	}
	ch, _, ok := strings.Cut(rest, "/")
	return ch, ok && ch != ""
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

func displayAddrOrEmpty(api *server.Server) string {
	h, _, err := api.Addrs(context.Background())
	if err != nil {
		return ""
	}
	return displayAddr(h)
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
