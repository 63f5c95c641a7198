package esindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/beaconlive/beacon/search"
)

// Reindex rebuilds the index from src online and swaps it in atomically.
//
// It creates a new version, writes one document per channel src.Fill yields
// — metadata from the store, live state (search.WithLiveState) from the
// document the current version holds, read in one mget per page — and moves
// the alias to it with Swap. Searches and writes go to the current version
// the whole time. Channels of the current version that src does not yield
// are not copied, so they are dropped.
//
// # Writes made during the rebuild
//
// A live update that reaches the current version after its channel was
// copied would be lost by the swap. Reindex closes that window with the
// version's sequence numbers (it has a single shard, so they order every
// write): it records the local checkpoint before copying, and afterwards
// copies again — the new version's metadata with the current version's live
// state — every document whose sequence number is above it (one catch-up
// round while writes continue). It then blocks writes on the current version
// (index.blocks.write), waits until every accepted write is processed, runs a
// last catch-up round, which now misses nothing, and swaps. Writers are held
// up, not failed, for that short moment: esindex retries a write refused by
// the block as a conflict (re-reading through the alias, which then names
// the new version), and the indexer retries beyond that. If Reindex fails
// after blocking writes, it lifts the block; a block left by a killed
// Reindex is lifted by the next Reindex.
//
// What is not replayed: a Delete made on the current version during the
// rebuild (the store, not the index, decides which channels exist).
func (ix *Index) Reindex(ctx context.Context, src search.Source) (search.RebuildStats, error) {
	var st search.RebuildStats
	if err := ix.checkOpen(); err != nil {
		return st, err
	}
	if src.Fill == nil {
		return st, errors.New("esindex: reindex: 'fill' is required")
	}
	old, err := ix.Current(ctx)
	if err != nil {
		return st, err
	}
	since := int64(-1)
	if old != "" {
		if err := ix.setWriteBlock(ctx, old, false); err != nil {
			return st, err
		}
		if since, _, err = ix.checkpoint(ctx, old); err != nil {
			return st, err
		}
	}
	name, err := ix.CreateVersion(ctx)
	if err != nil {
		return st, err
	}
	blocked := false
	var blockedAt time.Time
	fail := func(err error) (search.RebuildStats, error) {
		bg := context.WithoutCancel(ctx)
		if blocked {
			if uerr := ix.setWriteBlock(bg, old, false); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
		_, _ = ix.es.DeleteIndex(name).Do(bg)
		return search.RebuildStats{}, fmt.Errorf("esindex: reindex: %w", err)
	}
	// Bulk loading: no refreshes until the version is complete.
	if _, err := ix.es.IndexPutSettings(name).BodyJson(map[string]any{"index": map[string]any{"refresh_interval": "-1"}}).Do(ctx); err != nil {
		return fail(unavailable("settings", err))
	}
	put := func(chs ...search.Channel) error {
		if len(chs) == 0 {
			return nil
		}
		var cur map[string]search.Channel
		if old != "" {
			ids := make([]string, len(chs))
			for i, c := range chs {
				ids[i] = c.ID
			}
			if cur, err = ix.mget(ctx, old, ids); err != nil {
				return err
			}
		}
		docs := make([]search.Channel, 0, len(chs))
		for _, c := range chs {
			d := search.MetadataOnly(c)
			if oc, ok := cur[c.ID]; ok {
				d = search.WithLiveState(c, oc)
				st.LiveCopied++
			}
			docs = append(docs, d)
		}
		return ix.writeTo(ctx, name, docs)
	}
	if err := src.Fill(ctx, put); err != nil {
		return fail(err)
	}
	if _, err := ix.es.IndexPutSettings(name).BodyJson(map[string]any{"index": map[string]any{
		"refresh_interval": fmt.Sprintf("%dms", ix.cfg.RefreshInterval.Milliseconds())}}).Do(ctx); err != nil {
		return fail(unavailable("settings", err))
	}
	if old != "" {
		// Round 1 while writes go on; round 2 with writes blocked.
		next, _, err := ix.checkpoint(ctx, old)
		if err != nil {
			return fail(err)
		}
		n, err := ix.catchUp(ctx, old, name, since, src.Lookup, &st)
		if err != nil {
			return fail(err)
		}
		st.CaughtUp += n
		since = next
		blocked = true
		blockedAt = time.Now()
		if err := ix.setWriteBlock(ctx, old, true); err != nil {
			return fail(err)
		}
		if err := ix.waitProcessed(ctx, old); err != nil {
			return fail(err)
		}
		if n, err = ix.catchUp(ctx, old, name, since, src.Lookup, &st); err != nil {
			return fail(err)
		}
		st.CaughtUp += n
	}
	if _, err := ix.es.Refresh(name).Do(ctx); err != nil {
		return fail(unavailable("refresh", err))
	}
	prev, err := ix.swapAlias(ctx, name)
	if err != nil {
		return fail(err)
	}
	if blocked {
		st.WritesHeld = time.Since(blockedAt)
	}
	// The swap is done: what follows only counts and cleans up.
	if prev != "" {
		if st.Dropped, err = ix.countMissing(ctx, prev, name); err != nil {
			ix.log.Warn("counting the dropped channels", "error", err)
		}
		ix.dropVersion(ctx, prev)
	}
	cnt, err := ix.es.Count(name).Do(ctx)
	if err != nil {
		return st, unavailable("count", err)
	}
	st.Channels = int(cnt)
	return st, nil
}

// writeTo indexes docs into the version name (which has no other writer).
func (ix *Index) writeTo(ctx context.Context, name string, docs []search.Channel) error {
	reqs := make([]elastic.BulkableRequest, 0, len(docs))
	for _, c := range docs {
		c = c.Normalize()
		if err := c.Validate(); err != nil {
			return err
		}
		reqs = append(reqs, elastic.NewBulkIndexRequest().Index(name).Id(c.ID).Doc(toDoc(&c)))
	}
	failed, err := ix.bulk(ctx, reqs)
	if err != nil {
		return err
	}
	for _, e := range failed {
		return e
	}
	return nil
}

// mget reads the documents of ids in index (realtime); missing ones are left
// out.
func (ix *Index) mget(ctx context.Context, index string, ids []string) (map[string]search.Channel, error) {
	out := make(map[string]search.Channel, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	mg := ix.es.Mget().Realtime(true)
	for _, id := range ids {
		mg = mg.Add(elastic.NewMultiGetItem().Index(index).Id(id))
	}
	res, err := mg.Do(ctx)
	if err != nil {
		return nil, unavailable("mget", err)
	}
	for _, d := range res.Docs {
		if !d.Found {
			continue
		}
		c, err := fromSource(d.Source)
		if err != nil {
			return nil, err
		}
		out[d.Id] = c
	}
	return out, nil
}

// scanPage is how many documents a catch-up or count page reads.
const scanPage = 1000

// scan calls fn with pages of the documents of index whose sequence number
// is above since, in sequence-number order, as of a refresh it makes first.
func (ix *Index) scan(ctx context.Context, index string, since int64, source bool, fn func([]*elastic.SearchHit) error) error {
	if _, err := ix.es.Refresh(index).Do(ctx); err != nil {
		return unavailable("refresh", err)
	}
	var after []any
	for {
		svc := ix.es.Search(index).Query(elastic.NewRangeQuery("_seq_no").Gt(since)).
			Sort("_seq_no", true).Size(scanPage).TrackTotalHits(false).FetchSource(source)
		if after != nil {
			svc = svc.SearchAfter(after...)
		}
		res, err := svc.Do(ctx)
		if err != nil {
			return unavailable("scan", err)
		}
		if res.Hits == nil || len(res.Hits.Hits) == 0 {
			return nil
		}
		hits := res.Hits.Hits
		if err := fn(hits); err != nil {
			return err
		}
		if len(hits) < scanPage {
			return nil
		}
		after = hits[len(hits)-1].Sort
	}
}

// catchUp copies again into name every document of old written after
// sequence number since: the new version's metadata (or, for a channel it
// lacks, lookup's) with old's live state. It returns how many it copied.
func (ix *Index) catchUp(ctx context.Context, old, name string, since int64, lookup func(context.Context, string) (search.Channel, bool, error), st *search.RebuildStats) (int, error) {
	n := 0
	err := ix.scan(ctx, old, since, true, func(hits []*elastic.SearchHit) error {
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.Id
		}
		built, err := ix.mget(ctx, name, ids)
		if err != nil {
			return err
		}
		docs := make([]search.Channel, 0, len(hits))
		for _, h := range hits {
			oc, err := fromSource(h.Source)
			if err != nil {
				return err
			}
			meta, ok := built[h.Id]
			if !ok {
				// Not in the store when Fill listed it.
				if lookup == nil {
					meta = oc
				} else if meta, ok, err = lookup(ctx, h.Id); err != nil {
					return err
				} else if !ok {
					continue
				}
				st.LiveCopied++
			}
			docs = append(docs, search.WithLiveState(meta, oc))
		}
		n += len(docs)
		return ix.writeTo(ctx, name, docs)
	})
	return n, err
}

// countMissing counts the documents of old that name lacks.
func (ix *Index) countMissing(ctx context.Context, old, name string) (int, error) {
	missing := 0
	err := ix.scan(ctx, old, -1, false, func(hits []*elastic.SearchHit) error {
		mg := ix.es.Mget().Realtime(true)
		for _, h := range hits {
			mg = mg.Add(elastic.NewMultiGetItem().Index(name).Id(h.Id).FetchSource(elastic.NewFetchSourceContext(false)))
		}
		res, err := mg.Do(ctx)
		if err != nil {
			return unavailable("mget", err)
		}
		for _, d := range res.Docs {
			if !d.Found {
				missing++
			}
		}
		return nil
	})
	return missing, err
}

// setWriteBlock sets or lifts index.blocks.write on index.
func (ix *Index) setWriteBlock(ctx context.Context, index string, on bool) error {
	var v any
	if on {
		v = true
	}
	_, err := ix.es.IndexPutSettings(index).BodyJson(map[string]any{"index": map[string]any{"blocks": map[string]any{"write": v}}}).Do(ctx)
	if err != nil {
		return unavailable("write block", err)
	}
	return nil
}

// checkpoint returns the local checkpoint (every write up to it is
// processed) and the highest sequence number of index's single shard.
//
// The stats report the persisted checkpoint, which follows the translog's
// fsync — every 5s, the translog being async — so it flushes first.
func (ix *Index) checkpoint(ctx context.Context, index string) (local, maxSeq int64, err error) {
	if _, err := ix.es.Flush(index).WaitIfOngoing(true).Do(ctx); err != nil {
		return 0, 0, unavailable("flush", err)
	}
	res, err := ix.es.PerformRequest(ctx, elastic.PerformRequestOptions{
		Method: "GET", Path: "/" + url.PathEscape(index) + "/_stats/docs", Params: url.Values{"level": {"shards"}},
	})
	if err != nil {
		return 0, 0, unavailable("stats", err)
	}
	var body struct {
		Indices map[string]struct {
			Shards map[string][]struct {
				Routing struct {
					Primary bool `json:"primary"`
				} `json:"routing"`
				SeqNo struct {
					MaxSeqNo        int64 `json:"max_seq_no"`
					LocalCheckpoint int64 `json:"local_checkpoint"`
				} `json:"seq_no"`
			} `json:"shards"`
		} `json:"indices"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		return 0, 0, fmt.Errorf("esindex: decoding stats: %w", err)
	}
	shards := body.Indices[index].Shards
	if len(shards) != 1 {
		return 0, 0, fmt.Errorf("esindex: %s has %d shards; reindex needs one", index, len(shards))
	}
	for _, copies := range shards {
		for _, c := range copies {
			if c.Routing.Primary {
				return c.SeqNo.LocalCheckpoint, c.SeqNo.MaxSeqNo, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("esindex: no primary shard stats for %s", index)
}

// waitProcessed waits until every write index accepted is processed (its
// local checkpoint reached its highest sequence number).
func (ix *Index) waitProcessed(ctx context.Context, index string) error {
	deadline := time.Now().Add(ix.cfg.Timeout)
	for {
		local, maxSeq, err := ix.checkpoint(ctx, index)
		if err != nil {
			return err
		}
		if local >= maxSeq {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: esindex: %s: writes still in flight after %s", search.ErrUnavailable, index, ix.cfg.Timeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}
