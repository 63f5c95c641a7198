package esindex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/olivere/elastic/v7"

	"github.com/beaconlive/beacon/search"
)

// Get returns the current document of id (a realtime get).
func (ix *Index) Get(ctx context.Context, id string) (search.Channel, error) {
	if err := ix.checkOpen(); err != nil {
		return search.Channel{}, err
	}
	if search.ValidateID(id) != nil {
		return search.Channel{}, search.ErrNotFound
	}
	res, err := ix.es.Get().Index(ix.alias).Id(id).Do(ctx)
	if err != nil {
		if elastic.IsNotFound(err) {
			return search.Channel{}, search.ErrNotFound
		}
		return search.Channel{}, unavailable("get", err)
	}
	if !res.Found {
		return search.Channel{}, search.ErrNotFound
	}
	return fromSource(res.Source)
}

// Upsert applies p to id.
func (ix *Index) Upsert(ctx context.Context, id string, p search.Patch) error {
	return single(ix.Bulk(ctx, []search.Op{{ID: id, Patch: p}}))
}

// Delete removes id.
func (ix *Index) Delete(ctx context.Context, id string) error {
	return single(ix.Bulk(ctx, []search.Op{{ID: id, Delete: true}}))
}

// single unwraps the one failure of a one-op bulk.
func single(err error) error {
	var be *search.BulkError
	if errors.As(err, &be) && len(be.Failed) == 1 {
		return be.Failed[0]
	}
	return err
}

type state struct {
	c           *search.Channel // nil: absent
	seqNo, term int64
	known       bool // read from the index (seqNo/term valid when c != nil)
}

// Bulk applies ops in order. Ops on one id collapse into one write; a
// channel touched only by viewer-count patches is written with a partial
// update and no read. Conflicting concurrent writers are retried.
func (ix *Index) Bulk(ctx context.Context, ops []search.Op) error {
	if err := ix.checkOpen(); err != nil {
		return err
	}
	failed := map[int]error{}
	order := []string{}
	byID := map[string][]int{}
	for i, op := range ops {
		if err := search.ValidateID(op.ID); err != nil {
			failed[i] = err
			continue
		}
		if !op.Delete && op.Patch.Empty() {
			continue
		}
		if _, ok := byID[op.ID]; !ok {
			order = append(order, op.ID)
		}
		byID[op.ID] = append(byID[op.ID], i)
	}
	pending := order
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if attempt > ix.cfg.Retries {
				for _, id := range pending {
					failed[byID[id][0]] = fmt.Errorf("%w: esindex: %q kept conflicting with concurrent writers", search.ErrUnavailable, id)
				}
				break
			}
			if err := sleep(ctx, ix.cfg.RetryBackoff<<min(attempt-1, 5)); err != nil {
				return err
			}
		}
		var err error
		pending, err = ix.bulkOnce(ctx, ops, pending, byID, failed)
		if err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return &search.BulkError{Failed: failed}
	}
	return nil
}

// bulkOnce writes the channels in ids and returns those that hit a version
// conflict (to retry with a fresh read).
func (ix *Index) bulkOnce(ctx context.Context, ops []search.Op, ids []string, byID map[string][]int, failed map[int]error) ([]string, error) {
	// Channels needing a read: any op other than a viewer-count patch.
	var toRead []string
	for _, id := range ids {
		for _, i := range byID[id] {
			if ops[i].Delete || !ops[i].Patch.OnlyViewerCount() {
				toRead = append(toRead, id)
				break
			}
		}
	}
	states := map[string]*state{}
	if len(toRead) > 0 {
		mg := ix.es.Mget().Realtime(true)
		for _, id := range toRead {
			mg = mg.Add(elastic.NewMultiGetItem().Index(ix.alias).Id(id))
		}
		res, err := mg.Do(ctx)
		if err != nil {
			return nil, unavailable("mget", err)
		}
		for _, d := range res.Docs {
			st := &state{known: true}
			if d.Found {
				c, err := fromSource(d.Source)
				if err != nil {
					return nil, err
				}
				st.c = &c
				if d.SeqNo != nil && d.PrimaryTerm != nil {
					st.seqNo, st.term = *d.SeqNo, *d.PrimaryTerm
				}
			}
			states[d.Id] = st
		}
	}
	reqs := make([]elastic.BulkableRequest, 0, len(ids))
	reqID := make([]string, 0, len(ids))
	for _, id := range ids {
		st, read := states[id]
		if !read {
			// Only viewer-count patches: a partial update, creating the
			// document from the zero channel when missing.
			var last int64
			for _, i := range byID[id] {
				last = *ops[i].Patch.ViewerCount
			}
			base := search.Channel{ID: id, ViewerCount: last}.Normalize()
			reqs = append(reqs, elastic.NewBulkUpdateRequest().Index(ix.alias).Id(id).
				Doc(map[string]int64{"viewer_count": last}).Upsert(toDoc(&base)).RetryOnConflict(3))
			reqID = append(reqID, id)
			continue
		}
		cur := st.c
		existed := cur != nil
		for _, i := range byID[id] {
			op := ops[i]
			if op.Delete {
				cur = nil
				continue
			}
			base := search.Channel{ID: id}
			if cur != nil {
				base = *cur
			}
			c := op.Patch.Apply(base).Normalize()
			c.ID = id
			if err := c.Validate(); err != nil {
				failed[i] = err
				continue
			}
			cur = &c
		}
		switch {
		case cur == nil && !existed:
			continue
		case cur == nil:
			reqs = append(reqs, elastic.NewBulkDeleteRequest().Index(ix.alias).Id(id).IfSeqNo(st.seqNo).IfPrimaryTerm(st.term))
		case existed:
			reqs = append(reqs, elastic.NewBulkIndexRequest().Index(ix.alias).Id(id).Doc(toDoc(cur)).IfSeqNo(st.seqNo).IfPrimaryTerm(st.term))
		default:
			reqs = append(reqs, elastic.NewBulkIndexRequest().Index(ix.alias).Id(id).OpType("create").Doc(toDoc(cur)))
		}
		reqID = append(reqID, id)
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	items, err := ix.bulk(ctx, reqs)
	if err != nil {
		return nil, err
	}
	var retry []string
	for k, itemErr := range items {
		id := reqID[k]
		if itemErr == errConflict {
			retry = append(retry, id)
			continue
		}
		failed[byID[id][0]] = itemErr
	}
	return retry, nil
}

var errConflict = errors.New("esindex: version conflict")

// bulk sends reqs, retrying items rejected with 429 or 5xx with backoff. It
// returns the final error per request index: errConflict for a version
// conflict, nothing for a success or a delete of a missing document.
func (ix *Index) bulk(ctx context.Context, reqs []elastic.BulkableRequest) (map[int]error, error) {
	out := map[int]error{}
	idx := make([]int, len(reqs))
	for i := range idx {
		idx[i] = i
	}
	for attempt := 0; ; attempt++ {
		svc := ix.es.Bulk()
		for _, i := range idx {
			svc = svc.Add(reqs[i])
		}
		res, err := svc.Do(ctx)
		if err != nil {
			if attempt < ix.cfg.Retries && errors.Is(unavailable("bulk", err), search.ErrUnavailable) {
				if err := sleep(ctx, ix.cfg.RetryBackoff<<min(attempt, 5)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, unavailable("bulk", err)
		}
		var again []int
		for k, item := range res.Items {
			var it *elastic.BulkResponseItem
			for _, v := range item {
				it = v
			}
			if it == nil || k >= len(idx) {
				continue
			}
			i := idx[k]
			switch {
			case it.Status >= 200 && it.Status < 300:
			case it.Status == http.StatusNotFound && it.Result == "not_found":
			case it.Status == http.StatusConflict:
				out[i] = errConflict
			case it.Status == http.StatusForbidden && it.Error != nil && it.Error.Type == "cluster_block_exception":
				// The version is write-blocked for a Reindex swap: retry with
				// a fresh read through the alias, as for a conflict.
				out[i] = errConflict
			case it.Status == http.StatusTooManyRequests || it.Status >= 500:
				again = append(again, i)
			default:
				reason := ""
				if it.Error != nil {
					reason = it.Error.Type + ": " + it.Error.Reason
				}
				out[i] = fmt.Errorf("esindex: bulk item %q: status %d %s", it.Id, it.Status, reason)
			}
		}
		if len(again) == 0 {
			return out, nil
		}
		if attempt >= ix.cfg.Retries {
			for _, i := range again {
				out[i] = fmt.Errorf("%w: esindex: bulk item rejected after %d retries", search.ErrUnavailable, attempt)
			}
			return out, nil
		}
		if err := sleep(ctx, ix.cfg.RetryBackoff<<min(attempt, 5)); err != nil {
			return nil, err
		}
		idx = again
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
