package mediabench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/ingest"
	"github.com/beaconlive/beacon/media"
	"github.com/beaconlive/beacon/store"
)

// benchChannel is a channel of the benchmark's store with a real stream key.
type benchChannel struct {
	id  string // decimal channel id, as ingest hands it to media
	key string
}

// newStore opens a store in dir with open and creates n streamers, each
// with a channel and its stream key; it returns the auth service that
// verifies the keys (the same path the ingest takes in production).
func newStore(ctx context.Context, open func(ctx context.Context, dir string) (store.Store, error), dir string, n int) (store.Store, *auth.Service, []benchChannel, error) {
	st, err := open(ctx, dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mediabench: opening the store: %w", err)
	}
	a, err := auth.New(auth.Config{Store: st})
	if err != nil {
		st.Close()
		return nil, nil, nil, fmt.Errorf("mediabench: %w", err)
	}
	chs := make([]benchChannel, 0, n)
	for i := range n {
		// No password: these accounts cannot log in, so no argon2 cost here.
		u, err := st.CreateUser(ctx, store.NewUser{Login: fmt.Sprintf("bench_%04d", i)})
		if err != nil {
			st.Close()
			return nil, nil, nil, fmt.Errorf("mediabench: creating a streamer: %w", err)
		}
		ch, key, err := a.CreateChannel(ctx, 0, store.NewChannel{OwnerID: u.ID, Title: "benchmark"})
		if err != nil {
			st.Close()
			return nil, nil, nil, fmt.Errorf("mediabench: creating a channel: %w", err)
		}
		chs = append(chs, benchChannel{id: strconv.FormatInt(int64(ch.ID), 10), key: key})
	}
	return st, a, chs, nil
}

// arrival is one video access unit as the media server received it.
type arrival struct {
	pts, dts time.Duration
	at       time.Time
	idr      bool
}

// probeSink sits between ingest and media: it records when each publish
// was accepted and, for traced channels, the wall-clock arrival of every
// video access unit at media's StreamWriter. Untraced channels get media's
// writer as is, so they cost nothing extra.
type probeSink struct {
	next *media.Server

	mu     sync.Mutex
	opened map[string]time.Time
	traced map[string][]arrival
}

func (p *probeSink) OpenStream(channelID string, sp media.StreamParams) (media.StreamWriter, error) {
	w, err := p.next.OpenStream(channelID, sp)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.opened[channelID]; !ok {
		p.opened[channelID] = time.Now()
	}
	if _, ok := p.traced[channelID]; ok {
		return &tracingWriter{StreamWriter: w, p: p, ch: channelID}, nil
	}
	return w, nil
}

func (p *probeSink) trace(ch string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.traced[ch] = []arrival{}
}

func (p *probeSink) arrivals(ch string) []arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]arrival(nil), p.traced[ch]...)
}

func (p *probeSink) openedAt(ch string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened[ch]
}

type tracingWriter struct {
	media.StreamWriter
	p  *probeSink
	ch string
}

func (w *tracingWriter) WriteH264(pts, dts time.Duration, au [][]byte) {
	a := arrival{pts: pts, dts: dts, at: time.Now()}
	for _, n := range au {
		if len(n) > 0 && n[0]&0x1f == 5 {
			a.idr = true
		}
	}
	w.p.mu.Lock()
	w.p.traced[w.ch] = append(w.p.traced[w.ch], a)
	w.p.mu.Unlock()
	w.StreamWriter.WriteH264(pts, dts, au)
}

// stack is ingest + media + HTTP, in this process on 127.0.0.1.
type stack struct {
	media   *media.Server
	ingest  *ingest.Server
	sink    *probeSink
	rtmpURL string // rtmp://127.0.0.1:port/live/
	httpURL string // http://127.0.0.1:port

	cancel context.CancelFunc
	wg     sync.WaitGroup
	hs     *http.Server
}

func startStack(keys auth.IngestKeys, mcfg media.Config, log *slog.Logger) (*stack, error) {
	mcfg.Logger = log
	ms, err := media.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("mediabench: %w", err)
	}
	sink := &probeSink{next: ms, opened: map[string]time.Time{}, traced: map[string][]arrival{}}
	is, err := ingest.New(ingest.Config{Address: "127.0.0.1:0", Keys: keys, Sink: sink, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("mediabench: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mediabench: %w", err)
	}
	s := &stack{media: ms, ingest: is, sink: sink,
		rtmpURL: "rtmp://" + is.Addr().String() + "/live/",
		httpURL: "http://" + ln.Addr().String(),
		hs:      &http.Server{Handler: ms, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)},
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { _ = ms.Run(ctx) })
	s.wg.Go(func() { _ = is.Run(ctx) })
	s.wg.Go(func() {
		if err := s.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server", "error", err)
		}
	})
	return s, nil
}

func (s *stack) close() {
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.hs.Shutdown(sctx)
	s.cancel()
	s.wg.Wait()
}

// get fetches a URL of the stack's HTTP server.
func (s *stack) get(ctx context.Context, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.httpURL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sourcePlaylist returns the path of a live channel's source playlist,
// read from its master playlist ("" while it is not ready).
func (s *stack) sourcePlaylist(ctx context.Context, ch string) string {
	code, b, err := s.get(ctx, "/hls/"+ch+"/index.m3u8")
	if err != nil || code != http.StatusOK {
		return ""
	}
	uris := variantURIs(b)
	if len(uris) == 0 {
		return ""
	}
	return "/hls/" + ch + "/" + uris[0]
}

// playlist fetches and parses a media playlist.
func (s *stack) playlist(ctx context.Context, path string) (mediaPlaylist, error) {
	code, b, err := s.get(ctx, path)
	if err != nil {
		return mediaPlaylist{}, err
	}
	if code != http.StatusOK {
		return mediaPlaylist{}, fmt.Errorf("mediabench: GET %s: status %d", path, code)
	}
	return parseMediaPlaylist(b), nil
}
