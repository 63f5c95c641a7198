package bleveindex_test

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
	"github.com/beaconlive/beacon/search/indextest"
)

// benchDir caches the benchmark indexes across runs. BEACON_BENCH_DIR
// overrides it.
func benchDir() string {
	if d := os.Getenv("BEACON_BENCH_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "beacon-bench-bleve")
}

func BenchmarkBleve(b *testing.B) {
	indextest.Bench(b, indextest.Backend{
		Open: func(tb testing.TB, name string) search.Index {
			ix, err := bleveindex.Open(bleveindex.Config{Path: filepath.Join(benchDir(), name), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				tb.Fatal(err)
			}
			return ix
		},
		Drop: func(tb testing.TB, name string) {
			if err := os.RemoveAll(filepath.Join(benchDir(), name)); err != nil {
				tb.Fatal(err)
			}
		},
		Size: func(tb testing.TB, name string, _ search.Index) int64 {
			var n int64
			_ = filepath.WalkDir(filepath.Join(benchDir(), name), func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if fi, err := d.Info(); err == nil {
						n += fi.Size()
					}
				}
				return nil
			})
			return n
		},
	})
}
