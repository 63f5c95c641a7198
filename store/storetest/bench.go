package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// BenchChannels is how many streamers (user, channel, active stream key) the
// benchmarks load.
const BenchChannels = 100_000

// BulkLoader loads streamers fast (one transaction or COPY): for each i,
// user id i+1 with login fmt.Sprintf("bench_%d", i), channel id i+1 owned
// by it, and an active stream key with digest digests[i]. The store is
// empty when it is called.
type BulkLoader func(ctx context.Context, s store.Store, digests [][]byte) error

// Bench runs the hot-path benchmarks on a store from open, loaded by load
// with BenchChannels streamers:
//
//   - Ping: one round trip to the database, the floor of the others;
//   - StreamKeyVerify: auth.VerifyStreamKey (hash + one indexed lookup +
//     constant-time compare), reporting p50/p99 latency in µs;
//   - TokenVerify/store: auth.Service.VerifyToken with the cache disabled
//     (one primary-key lookup per call), reporting verifies/s;
//   - TokenVerify/cached: the same with the default 2 s verified-token cache;
//   - TokenVerify/*-parallel: the same from GOMAXPROCS goroutines at once.
func Bench(b *testing.B, open func(b *testing.B) store.Store, load BulkLoader) {
	ctx := context.Background()
	s := open(b)
	keys := make([]string, BenchChannels)
	digests := make([][]byte, BenchChannels)
	for i := range keys {
		keys[i], digests[i] = auth.NewStreamKey()
	}
	start := time.Now()
	require.NoError(b, load(ctx, s, digests))
	b.Logf("loaded %d streamers in %s", BenchChannels, time.Since(start).Round(time.Millisecond))
	last, err := s.ChannelByID(ctx, BenchChannels)
	require.NoError(b, err)
	require.Equal(b, fmt.Sprintf("bench_%d", BenchChannels-1), last.Name)

	// The floor: one round trip to the database (an empty query on
	// PostgreSQL), measured the same way.
	b.Run("Ping", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1<<16)
		for b.Loop() {
			t0 := time.Now()
			if err := s.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})

	b.Run("StreamKeyVerify", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		lat := make([]time.Duration, 0, 1<<16)
		for b.Loop() {
			i := rng.IntN(len(keys))
			t0 := time.Now()
			k, err := auth.VerifyStreamKey(ctx, s, keys[i])
			lat = append(lat, time.Since(t0))
			if err != nil || k.ChannelID != store.ChannelID(i+1) {
				b.Fatalf("verify key %d: %v (channel %d)", i, err, k.ChannelID)
			}
		}
		reportLatency(b, lat)
	})

	admin, err := s.CreateUser(ctx, store.NewUser{Login: "bench_admin", Roles: []store.Role{store.RoleAdmin}})
	require.NoError(b, err)
	for _, v := range []struct {
		name string
		ttl  time.Duration
	}{{"store", -1}, {"cached", 0}} {
		a, err := auth.New(auth.Config{Store: s, Password: TestParams, TokenCacheTTL: v.ttl})
		require.NoError(b, err)
		creds, err := a.CreateAPIClient(ctx, admin.ID, "bench", []string{"streams:read", "channels:read"})
		require.NoError(b, err)
		toks := make([]string, 256)
		for i := range toks {
			t, err := a.IssueToken(ctx, creds.ClientID, creds.Secret, nil, "")
			require.NoError(b, err)
			toks[i] = t.AccessToken
		}
		// Parallel: GOMAXPROCS goroutines (2 on the project's machines)
		// verifying at once, the API server's situation.
		b.Run("TokenVerify/"+v.name+"-parallel", func(b *testing.B) {
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := a.VerifyToken(ctx, toks[i%len(toks)], "streams:read"); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifies/s")
		})
		b.Run("TokenVerify/"+v.name, func(b *testing.B) {
			i := 0
			lat := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				t0 := time.Now()
				_, err := a.VerifyToken(ctx, toks[i%len(toks)], "streams:read")
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportLatency(b, lat)
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(len(lat))/sum.Seconds(), "verifies/s")
}
