// Package viewers counts concurrent viewers per channel from HLS playlist requests and publishes the counts.
//
// A viewer is a distinct session seen in the last Window (30 s by default).
// Sessions are identified by an HttpOnly cookie the tracker sets on the first
// playlist request; players refresh live playlists every segment, so an
// active viewer is seen every few seconds. To keep cookie-dropping clients
// from inflating counts, one client address counts for at most MaxPerAddr
// sessions per channel.
//
// Every Interval the tracker publishes a ViewerCount event on the `streams`
// topic for each channel whose count changed (including drops to zero).
package viewers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/beaconlive/beacon/api/gen/beacon/events/v1"
	"github.com/beaconlive/beacon/bus"
	"github.com/beaconlive/beacon/event"
)

// CookieName is the session cookie set on playlist requests.
const CookieName = "beacon_vid"

// Config configures a Tracker.
type Config struct {
	// Publisher receives ViewerCount events. Required for Run.
	Publisher bus.Publisher
	// Window is how long a session counts after it was last seen. It defaults to 30s.
	Window time.Duration
	// Interval is how often changed counts are published. It defaults to 5s.
	Interval time.Duration
	// MaxPerAddr is the most sessions one client address counts for per
	// channel. It defaults to 4.
	MaxPerAddr int
	// MaxSessions bounds the sessions tracked over all channels; beyond it new
	// sessions are not counted until old ones expire. It defaults to 1,000,000.
	MaxSessions int
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Now defaults to time.Now (tests set it).
	Now func() time.Time
}

type session struct {
	addr string
	seen time.Time
}

type channelState struct {
	sessions  map[string]*session
	perAddr   map[string]int
	published int64
}

// Tracker counts viewers. It is safe for concurrent use.
type Tracker struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]*channelState
	total    int
}

// New returns a tracker.
func New(cfg Config) *Tracker {
	if cfg.Window <= 0 {
		cfg.Window = 30 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.MaxPerAddr <= 0 {
		cfg.MaxPerAddr = 4
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1_000_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{cfg: cfg, log: cfg.Logger, channels: map[string]*channelState{}}
}

// Seen records that session, from client address addr, watched channel now.
// It reports whether the session counts.
func (t *Tracker) Seen(channel, sessionID, addr string) bool {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	cs := t.channels[channel]
	if cs == nil {
		cs = &channelState{sessions: map[string]*session{}, perAddr: map[string]int{}}
		t.channels[channel] = cs
	}
	if s, ok := cs.sessions[sessionID]; ok {
		s.seen = now
		return true
	}
	if cs.perAddr[addr] >= t.cfg.MaxPerAddr || t.total >= t.cfg.MaxSessions {
		return false
	}
	cs.sessions[sessionID] = &session{addr: addr, seen: now}
	cs.perAddr[addr]++
	t.total++
	return true
}

// Count returns the current viewers of channel.
func (t *Tracker) Count(channel string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(t.cfg.Now())
	if cs := t.channels[channel]; cs != nil {
		return int64(len(cs.sessions))
	}
	return 0
}

func (t *Tracker) pruneLocked(now time.Time) {
	for _, cs := range t.channels {
		for id, s := range cs.sessions {
			if now.Sub(s.seen) > t.cfg.Window {
				delete(cs.sessions, id)
				if cs.perAddr[s.addr]--; cs.perAddr[s.addr] <= 0 {
					delete(cs.perAddr, s.addr)
				}
				t.total--
			}
		}
	}
}

// changes prunes and returns the channels whose count differs from the last
// published one, marking them published; channels with no viewers left and
// nothing to publish are forgotten.
func (t *Tracker) changes() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(t.cfg.Now())
	out := map[string]int64{}
	for ch, cs := range t.channels {
		n := int64(len(cs.sessions))
		if n != cs.published {
			out[ch] = n
			cs.published = n
		}
		if n == 0 {
			delete(t.channels, ch)
		}
	}
	return out
}

// Flush publishes every changed count now.
func (t *Tracker) Flush(ctx context.Context) error {
	ch := t.changes()
	if len(ch) == 0 {
		return nil
	}
	msgs := make([]bus.Message, 0, len(ch))
	now := timestamppb.New(t.cfg.Now())
	for channel, n := range ch {
		m, err := event.Encode(channel, &eventsv1.StreamEvent{
			EventId: newID(), ChannelId: channel, Time: now,
			Kind: &eventsv1.StreamEvent_Viewers{Viewers: &eventsv1.ViewerCount{Count: n}},
		})
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := t.cfg.Publisher.Publish(ctx, msgs...); err != nil {
		// Counts are re-derived from sessions: mark them unpublished so the
		// next flush sends them again.
		t.mu.Lock()
		for channel := range ch {
			if cs := t.channels[channel]; cs != nil {
				cs.published = -1
			}
		}
		t.mu.Unlock()
		return fmt.Errorf("viewers: publish: %w", err)
	}
	return nil
}

// Run publishes changed counts every Interval until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	if t.cfg.Publisher == nil {
		return fmt.Errorf("viewers: Config.Publisher is required")
	}
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := t.Flush(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("publishing viewer counts failed; will retry", "error", err)
			}
		}
	}
}

// Middleware counts the viewers of HLS playlist requests before passing them
// to next. channelOf extracts the channel of a request and says whether the
// request is a playlist that marks a viewer as present.
func (t *Tracker) Middleware(next http.Handler, channelOf func(*http.Request) (string, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if channel, ok := channelOf(r); ok {
			sid := ""
			if c, err := r.Cookie(CookieName); err == nil && validSessionID(c.Value) {
				sid = c.Value
			} else {
				sid = newID()
				http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 86400})
			}
			addr, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				addr = r.RemoteAddr
			}
			t.Seen(channel, sid, addr)
		}
		next.ServeHTTP(w, r)
	})
}

func validSessionID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
