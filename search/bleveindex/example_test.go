package bleveindex_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/search/bleveindex"
)

func Example() {
	dir, _ := os.MkdirTemp("", "beacon-example")
	defer os.RemoveAll(dir)
	ix, err := bleveindex.Open(bleveindex.Config{Path: filepath.Join(dir, "index"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ix.Close()
	ctx := context.Background()
	_ = ix.Upsert(ctx, "c1", search.FullPatch(search.Channel{Login: "speedyfox", Title: "Minecraft speedrun", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", Live: true, ViewerCount: 500}))
	_ = ix.Upsert(ctx, "c2", search.FullPatch(search.Channel{Login: "blockbuilder", Title: "Building a castle", CategoryID: "cat-mc", CategoryName: "Minecraft", Language: "en", Live: true, ViewerCount: 120}))
	// A viewer-count change is a partial update.
	_ = ix.Upsert(ctx, "c2", search.Patch{ViewerCount: search.Ptr(int64(900))})

	// Typo-tolerant, prefix-matching text, live only, by viewers, with facets.
	res, _ := ix.Search(ctx, search.Query{Text: "minecarft", Live: search.Ptr(true), Sort: search.SortViewers, Facets: true})
	for _, h := range res.Hits {
		fmt.Println(h.ID, h.Title, h.ViewerCount)
	}
	fmt.Println(res.Facets.Categories[0].Label, res.Facets.Categories[0].Count)
	// Output:
	// c2 Building a castle 900
	// c1 Minecraft speedrun 500
	// Minecraft 2
}
