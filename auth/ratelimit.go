package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterConfig configures a keyed token-bucket limiter.
type LimiterConfig struct {
	// Rate is the sustained rate in events per second. It defaults to 10.
	Rate rate.Limit
	// Burst is the bucket size. It defaults to 20.
	Burst int
	// MaxKeys bounds memory: when exceeded, idle buckets are evicted. It
	// defaults to 100,000.
	MaxKeys int
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
}

// Limiter is a set of token buckets keyed by caller (an IP for anonymous
// callers, a client id or user id otherwise). It is safe for concurrent use.
type Limiter struct {
	cfg     LimiterConfig
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, buckets: make(map[string]*bucket)}
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	ok, _ := l.Reserve(key)
	return ok
}

// Reserve is Allow that also says, when refused, how long until a token is
// available (for a Retry-After header).
func (l *Limiter) Reserve(key string) (bool, time.Duration) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.cfg.MaxKeys {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return false, d
}

// evict drops buckets that have refilled completely (they behave like new
// ones); if none has, it drops the least recently seen half.
func (l *Limiter) evict(now time.Time) {
	full := time.Duration(float64(l.cfg.Burst) / float64(l.cfg.Rate) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.cfg.MaxKeys {
		return
	}
	var cutoff time.Time
	n := 0
	for _, b := range l.buckets {
		if n == 0 || b.seen.Before(cutoff) {
			cutoff = b.seen
		}
		n++
	}
	// Drop everything not seen since halfway between the oldest and now.
	mid := cutoff.Add(now.Sub(cutoff) / 2)
	for k, b := range l.buckets {
		if !b.seen.After(mid) {
			delete(l.buckets, k)
		}
	}
}

// Len returns the number of tracked keys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
