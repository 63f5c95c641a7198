package bleveindex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/beaconlive/beacon/search"
)

// Rebuild rebuilds the index at cfg.Path from src, offline, and swaps it in.
//
// bleve is embedded: the server process holds the index directory open (and
// locked) while it runs, so another process cannot swap an index under it.
// Rebuild therefore runs while the server is stopped: it opens the current
// index (failing with ErrLocked after cfg.LockTimeout when a server holds
// it), builds the new one in the sibling directory <path>.rebuild with one
// document per channel src.Fill yields — metadata from the store, live state
// from the current document (search.WithLiveState) — and then exchanges the
// two directories in one atomic rename (renameat2 RENAME_EXCHANGE on Linux;
// elsewhere, or where the file system refuses it, two renames with a moment
// in which <path> does not exist) and deletes the old one. The current index
// stays open, and so locked, until the swap is done, so a server that starts
// meanwhile fails with ErrLocked instead of opening a directory that is
// about to move. Channels of the current index that src does not yield are
// dropped. A failure before the swap leaves the current index as it was.
func Rebuild(ctx context.Context, cfg Config, src search.Source) (search.RebuildStats, error) {
	var st search.RebuildStats
	if src.Fill == nil {
		return st, errors.New("bleveindex: rebuild: 'fill' is required")
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return st, fmt.Errorf("bleveindex: rebuild: %w", err)
	}
	var old *Index
	if _, err := os.Stat(filepath.Join(cfg.Path, "index_meta.json")); err == nil {
		if old, err = Open(cfg); err != nil {
			return st, err
		}
		defer func() {
			if old != nil {
				_ = old.Close()
			}
		}()
	} else if fi, err := os.Stat(cfg.Path); err == nil && (!fi.IsDir() || !emptyDir(cfg.Path)) {
		return st, fmt.Errorf("bleveindex: rebuild: %s exists and is not a bleve index", cfg.Path)
	}
	tmp := cfg.Path + ".rebuild"
	// A leftover from an interrupted rebuild: nobody else uses it, since
	// rebuilds of an existing index are serialized by its lock.
	if err := os.RemoveAll(tmp); err != nil {
		return st, fmt.Errorf("bleveindex: rebuild: removing a stale %s: %w", tmp, err)
	}
	ncfg := cfg
	ncfg.Path = tmp
	ncfg.FlushInterval = time.Hour // Close saves the counts
	nw, err := Open(ncfg)
	if err != nil {
		return st, fmt.Errorf("bleveindex: rebuild: %w", err)
	}
	abort := func(err error) (search.RebuildStats, error) {
		_ = nw.Close()
		_ = os.RemoveAll(tmp)
		return search.RebuildStats{}, err
	}
	put := func(chs ...search.Channel) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ops := make([]search.Op, 0, len(chs))
		for _, c := range chs {
			doc := search.MetadataOnly(c)
			if old != nil {
				if cur, err := old.Get(ctx, c.ID); err == nil {
					doc = search.WithLiveState(c, cur)
					st.LiveCopied++
				}
			}
			ops = append(ops, search.Op{ID: c.ID, Patch: search.FullPatch(doc)})
		}
		return nw.Bulk(ctx, ops)
	}
	if err := src.Fill(ctx, put); err != nil {
		return abort(fmt.Errorf("bleveindex: rebuild: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return abort(err)
	}
	nw.mu.RLock()
	st.Channels = len(nw.docs.all)
	nw.mu.RUnlock()
	if old != nil {
		old.mu.RLock()
		st.Dropped = len(old.docs.all) - st.LiveCopied
		old.mu.RUnlock()
	}
	if err := nw.Close(); err != nil {
		_ = os.RemoveAll(tmp)
		return search.RebuildStats{}, fmt.Errorf("bleveindex: rebuild: closing the new index: %w", err)
	}
	if err := swapDirs(tmp, cfg.Path); err != nil {
		_ = os.RemoveAll(tmp)
		return search.RebuildStats{}, fmt.Errorf("bleveindex: rebuild: swapping %s into place: %w", tmp, err)
	}
	// tmp now holds the previous index, still open: close it, then delete it.
	if old != nil {
		_ = old.Close()
		old = nil
	}
	if err := os.RemoveAll(tmp); err != nil {
		cfg.Logger.Warn("removing the previous index", "path", tmp, "error", err)
	}
	return st, nil
}

// swapDirs moves directory src to dst; when dst exists, the two are
// exchanged (src then holds what dst held).
func swapDirs(src, dst string) error {
	if _, err := os.Stat(dst); errors.Is(err, os.ErrNotExist) {
		return os.Rename(src, dst)
	}
	if err := exchange(src, dst); err == nil {
		return nil
	}
	// No atomic exchange here: two renames, dst briefly missing.
	aside := dst + ".old"
	if err := os.RemoveAll(aside); err != nil {
		return err
	}
	if err := os.Rename(dst, aside); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		_ = os.Rename(aside, dst)
		return err
	}
	return os.Rename(aside, src)
}

func emptyDir(path string) bool {
	es, err := os.ReadDir(path)
	return err == nil && len(es) == 0
}
