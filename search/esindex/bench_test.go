package esindex_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/beaconlive/beacon/internal/testenv"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/esindex"
	"github.com/beaconlive/beacon/search/indextest"
)

func BenchmarkElasticsearch(b *testing.B) {
	url := testenv.Require(b, "ES_URL", "Elasticsearch")
	opened := map[string]*esindex.Index{}
	indextest.Bench(b, indextest.Backend{
		Open: func(tb testing.TB, name string) search.Index {
			ix, err := esindex.Open(context.Background(), esindex.Config{URL: url, Alias: name, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				tb.Fatal(err)
			}
			opened[name] = ix
			return ix
		},
		Drop: func(tb testing.TB, name string) {
			ix, err := esindex.Open(context.Background(), esindex.Config{URL: url, Alias: name, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				tb.Fatal(err)
			}
			_ = ix.Drop(context.Background())
			_ = ix.Close()
		},
		Size: func(tb testing.TB, name string, ix search.Index) int64 {
			es := ix.(*esindex.Index)
			_ = es.Refresh(context.Background())
			n, err := es.SizeBytes(context.Background())
			if err != nil {
				tb.Fatal(err)
			}
			return n
		},
	})
}
