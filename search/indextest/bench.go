package indextest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beaconlive/beacon/search"
)

// BenchDocs is the number of channel documents the benchmarks index.
const BenchDocs = 100_000

// benchSeed makes Generate's corpus; bump benchVersion when the corpus or a
// mapping changes so cached benchmark indexes are rebuilt.
const (
	benchSeed    = 2026
	benchVersion = 2
)

// Backend adapts a backend to the shared benchmarks.
type Backend struct {
	// Open opens the index called name, creating it when missing; the same
	// name reopens the same data (that is how the 100k index is cached).
	Open func(tb testing.TB, name string) search.Index
	// Drop deletes the index called name.
	Drop func(tb testing.TB, name string)
	// Size returns the on-disk size in bytes of the open index called name.
	Size func(tb testing.TB, name string, ix search.Index) int64
}

// BenchQueries are realistic viewer queries: words, a typo and prefixes.
var BenchQueries = []string{
	"minecraft speedrun", "valorant ranked", "chill art", "just chatting", "elden ring",
	"speedr", "minecarft", "world record", "cozy stardew", "league", "diamond rank grind",
	"lofi", "counter strike", "horror", "retro mario", "pokemon",
}

func benchQuery(i int) search.Query {
	return search.Query{
		Text:      BenchQueries[i%len(BenchQueries)],
		Live:      search.Ptr(true),
		Mature:    search.Ptr(false),
		Languages: []string{"en", "es", "de"}[i%3 : i%3+1],
		Facets:    true,
		Sort:      search.SortViewers,
		Limit:     20,
	}
}

// Bench runs the benchmarks against be: index build time and size, query
// latency (text + filters + facets, sorted by viewers), viewer-count update
// throughput and the time from an upsert to searchable.
func Bench(b *testing.B, be Backend) {
	ctx := context.Background()
	docs := Generate(BenchDocs, benchSeed)
	shared := fmt.Sprintf("beacon-bench-%d-v%d", BenchDocs, benchVersion)
	var ix search.Index
	sharedIndex := func(b *testing.B) search.Index {
		if ix != nil {
			return ix
		}
		ix = be.Open(b, shared)
		res, err := ix.Search(ctx, search.Query{IncludeHidden: true, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if res.Total != BenchDocs {
			b.Logf("building the cached %d-document index %s", BenchDocs, shared)
			build(b, ix, docs)
		}
		return ix
	}
	b.Cleanup(func() {
		if ix != nil {
			_ = ix.Close()
		}
	})

	b.Run("Build", func(b *testing.B) {
		name := fmt.Sprintf("beacon-bench-build-%d", time.Now().UnixNano())
		var elapsed time.Duration
		var size int64
		for b.Loop() {
			be.Drop(b, name)
			bi := be.Open(b, name)
			start := time.Now()
			build(b, bi, docs)
			elapsed = time.Since(start)
			size = be.Size(b, name, bi)
			_ = bi.Close()
		}
		be.Drop(b, name)
		b.ReportMetric(elapsed.Seconds(), "build-s")
		b.ReportMetric(float64(BenchDocs)/elapsed.Seconds(), "docs/s")
		b.ReportMetric(float64(size)/(1<<20), "MiB")
	})

	b.Run("Query", func(b *testing.B) {
		ix := sharedIndex(b)
		warm(b, ix, benchQuery)
		var lat []time.Duration
		var hits int
		i := 0
		cpu := startCPU()
		for b.Loop() {
			start := time.Now()
			res, err := ix.Search(ctx, benchQuery(i))
			lat = append(lat, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			hits += res.Total
			i++
		}
		cpu.report(b, i)
		reportLatency(b, lat)
		b.ReportMetric(float64(hits)/float64(i), "matches/op")
	})

	b.Run("QueryBrowse", func(b *testing.B) {
		// The directory page: no text, live, one language, facets, by viewers.
		ix := sharedIndex(b)
		browse := func(int) search.Query {
			return search.Query{Live: search.Ptr(true), Languages: []string{"en"}, Facets: true}
		}
		warm(b, ix, browse)
		var lat []time.Duration
		cpu := startCPU()
		for b.Loop() {
			start := time.Now()
			if _, err := ix.Search(ctx, browse(0)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		cpu.report(b, len(lat))
		reportLatency(b, lat)
	})

	b.Run("ViewerUpdates", func(b *testing.B) {
		// One Upsert per viewer-count change, as the indexer sends them.
		ix := sharedIndex(b)
		i := 0
		start := time.Now()
		cpu := startCPU()
		for b.Loop() {
			d := &docs[(i*7919)%len(docs)]
			if err := ix.Upsert(ctx, d.ID, search.Patch{ViewerCount: search.Ptr(int64(i % 5000))}); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(i)/time.Since(start).Seconds(), "updates/s")
		cpu.report(b, i)
	})

	b.Run("ViewerUpdatesBulk", func(b *testing.B) {
		// Viewer-count changes batched 500 to a Bulk call.
		ix := sharedIndex(b)
		const batch = 500
		ops := make([]search.Op, batch)
		n := 0
		start := time.Now()
		cpu := startCPU()
		for b.Loop() {
			for j := range ops {
				d := &docs[((n+j)*7919)%len(docs)]
				ops[j] = search.Op{ID: d.ID, Patch: search.Patch{ViewerCount: search.Ptr(int64((n + j) % 5000))}}
			}
			if err := ix.Bulk(ctx, ops); err != nil {
				b.Fatal(err)
			}
			n += batch
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "updates/s")
		cpu.report(b, n)
	})

	b.Run("UpsertToSearchable", func(b *testing.B) {
		// A title change, then polling Search (no Refresh) until it shows.
		ix := sharedIndex(b)
		var lat []time.Duration
		i := 0
		for b.Loop() {
			d := &docs[(i*104729)%len(docs)]
			word := fmt.Sprintf("zqx%dv%d", i, time.Now().UnixNano()%1e6)
			start := time.Now()
			if err := ix.Upsert(ctx, d.ID, search.Patch{Title: search.Ptr("Marathon " + word)}); err != nil {
				b.Fatal(err)
			}
			for {
				res, err := ix.Search(ctx, search.Query{Text: word, IncludeHidden: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Hits) > 0 {
					break
				}
				if time.Since(start) > 10*time.Second {
					b.Fatalf("upsert not searchable after 10s")
				}
				time.Sleep(2 * time.Millisecond)
			}
			lat = append(lat, time.Since(start))
			// Put the title back so the cached corpus stays the same.
			if err := ix.Upsert(ctx, d.ID, search.Patch{Title: search.Ptr(d.Title)}); err != nil {
				b.Fatal(err)
			}
			i++
		}
		reportLatency(b, lat)
	})
}

// Warm-up before a latency measurement: at least warmQueries queries and
// warmTime. A server started moments before (a JVM still compiling its hot
// paths, an index just built and still merging) answers several times slower
// for its first seconds; the percentiles are about the steady state.
const (
	warmQueries = 200
	warmTime    = 3 * time.Second
)

func warm(b *testing.B, ix search.Index, q func(int) search.Query) {
	start := time.Now()
	for i := 0; i < warmQueries || time.Since(start) < warmTime; i++ {
		if _, err := ix.Search(context.Background(), q(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func build(b *testing.B, ix search.Index, docs []search.Channel) {
	ctx := context.Background()
	const batch = 1000
	ops := make([]search.Op, 0, batch)
	for i := range docs {
		ops = append(ops, search.Op{ID: docs[i].ID, Patch: search.FullPatch(docs[i])})
		if len(ops) == batch || i == len(docs)-1 {
			if err := ix.Bulk(ctx, ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if err := ix.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := min(int(p*float64(len(lat))), len(lat)-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// cpuMeter measures the process's CPU time (user+system, all threads, GC
// and background merges included) over a benchmark loop: on a shared,
// loaded machine wall-clock percentiles mostly measure the scheduler, and
// CPU time per op is the figure to compare.
type cpuMeter struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{start: cpuNow()} }

// report adds cpu-ms/op and the 1-minute load average.
func (m cpuMeter) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64((cpuNow()-m.start).Microseconds())/1000/float64(ops), "cpu-ms/op")
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				b.ReportMetric(v, "loadavg")
			}
		}
	}
}
