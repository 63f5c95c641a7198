package moderation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EvidenceScheme prefixes evidence URIs: "evidence:frames/<channel>/<frame>.jpg".
// ml/safety's EvidenceDir writes the same layout, so either can read the other's.
const EvidenceScheme = "evidence:"

// Evidence errors.
var (
	// ErrNoEvidence is returned for evidence that does not exist (never
	// stored, or deleted by retention).
	ErrNoEvidence = errors.New("moderation: no such evidence")
	// ErrInvalidEvidence is returned for a malformed URI or id, or bytes
	// that are not a JPEG of an acceptable size.
	ErrInvalidEvidence = errors.New("moderation: invalid evidence")
)

// EvidenceConfig configures an Evidence store.
type EvidenceConfig struct {
	// Dir is the root directory; it is created. Required.
	Dir string
	// MaxAge is how long evidence is kept. It defaults to 30 days.
	MaxAge time.Duration
	// MaxBytes bounds the total size of the evidence kept; the oldest files
	// are deleted first. It defaults to 1 GiB.
	MaxBytes int64
	// MaxFileBytes bounds one JPEG. It defaults to 4 MiB.
	MaxFileBytes int64
	// PruneInterval is how often Run applies the retention limit. It
	// defaults to 1 minute.
	PruneInterval time.Duration
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Evidence is a file store of flagged frames' JPEGs, within a retention
// limit. Files live at Dir/frames/<channel>/<frame>.jpg, where channel and
// frame are ids of 1–64 characters of [A-Za-z0-9_-]: no other input ever
// reaches a path, and all access goes through an os.Root of Dir so that
// nothing outside it can be read or written, symbolic links included.
type Evidence struct {
	cfg  EvidenceConfig
	log  *slog.Logger
	root *os.Root

	pruneMu sync.Mutex // one prune at a time
	mu      sync.Mutex
	total   int64 // bytes kept, as of the last prune plus later writes
}

// NewEvidence opens (creating if needed) the evidence directory and applies
// the retention limit once.
func NewEvidence(cfg EvidenceConfig) (*Evidence, error) {
	if cfg.Dir == "" {
		return nil, errors.New("moderation: evidence 'Dir' is required")
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 30 * 24 * time.Hour
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 30
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 4 << 20
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("moderation: evidence dir: %w", err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("moderation: evidence dir: %w", err)
	}
	if err := root.MkdirAll("frames", 0o750); err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("moderation: evidence dir: %w", err)
	}
	e := &Evidence{cfg: cfg, log: cfg.Logger.With("component", "moderation_evidence"), root: root}
	if _, err := e.Prune(context.Background()); err != nil {
		_ = root.Close()
		return nil, err
	}
	return e, nil
}

// Close releases the directory.
func (e *Evidence) Close() error { return e.root.Close() }

// validID reports whether id may name a file: 1–64 of [A-Za-z0-9_-].
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// relPath returns the path of a frame's evidence inside Dir.
func relPath(channel, frameID string) (string, error) {
	if !validID(channel) || !validID(frameID) {
		return "", fmt.Errorf("%w: channel and frame ids must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'", ErrInvalidEvidence)
	}
	return "frames/" + channel + "/" + frameID + ".jpg", nil
}

// ParseEvidenceURI returns the channel and frame ids of an evidence URI.
func ParseEvidenceURI(uri string) (channel, frameID string, err error) {
	bad := fmt.Errorf("%w: not an evidence URI", ErrInvalidEvidence)
	rest, ok := strings.CutPrefix(uri, EvidenceScheme)
	if !ok || len(rest) > 256 {
		return "", "", bad
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] != "frames" {
		return "", "", bad
	}
	frameID, ok = strings.CutSuffix(parts[2], ".jpg")
	if !ok || !validID(parts[1]) || !validID(frameID) {
		return "", "", bad
	}
	return parts[1], frameID, nil
}

// Put stores a frame's JPEG and returns its URI; storing the same frame
// again replaces it. It has the signature ml/safety's worker expects of its
// evidence store.
func (e *Evidence) Put(ctx context.Context, channel, frameID string, jpeg []byte) (string, error) {
	rel, err := relPath(channel, frameID)
	if err != nil {
		return "", err
	}
	if int64(len(jpeg)) > e.cfg.MaxFileBytes {
		return "", fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrInvalidEvidence, len(jpeg), e.cfg.MaxFileBytes)
	}
	if len(jpeg) < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 || jpeg[2] != 0xFF {
		return "", fmt.Errorf("%w: not a JPEG", ErrInvalidEvidence)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := e.root.MkdirAll(path.Dir(rel), 0o750); err != nil {
		return "", fmt.Errorf("moderation: evidence: %w", err)
	}
	var old int64
	if fi, err := e.root.Stat(rel); err == nil {
		old = fi.Size()
	}
	tmp := rel + ".tmp" + strconv.FormatInt(e.cfg.Now().UnixNano(), 36)
	if err := e.root.WriteFile(tmp, jpeg, 0o640); err != nil {
		return "", fmt.Errorf("moderation: evidence: %w", err)
	}
	now := e.cfg.Now()
	_ = e.root.Chtimes(tmp, now, now)
	if err := e.root.Rename(tmp, rel); err != nil {
		_ = e.root.Remove(tmp)
		return "", fmt.Errorf("moderation: evidence: %w", err)
	}
	e.mu.Lock()
	e.total += int64(len(jpeg)) - old
	over := e.total > e.cfg.MaxBytes
	e.mu.Unlock()
	if over {
		if _, err := e.Prune(ctx); err != nil {
			e.log.Warn("evidence prune failed", "error", err)
		}
	}
	return EvidenceScheme + rel, nil
}

// Open returns the JPEG of an evidence URI: ErrInvalidEvidence for a
// malformed URI, ErrNoEvidence when it is not stored (any more).
func (e *Evidence) Open(uri string) ([]byte, error) {
	ch, fr, err := ParseEvidenceURI(uri)
	if err != nil {
		return nil, err
	}
	rel, _ := relPath(ch, fr)
	f, err := e.root.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoEvidence, uri)
	}
	if err != nil {
		return nil, fmt.Errorf("moderation: evidence: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, e.cfg.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("moderation: evidence: %w", err)
	}
	if int64(len(b)) > e.cfg.MaxFileBytes {
		return nil, fmt.Errorf("%w: stored file is over the size limit", ErrInvalidEvidence)
	}
	return b, nil
}

// ServeEvidence writes the JPEG of uri to w. It is not a route: the API
// calls it from a handler that has already checked the caller may review
// flags. Responses are never cached by shared caches and cannot be
// reinterpreted as another content type.
func (e *Evidence) ServeEvidence(w http.ResponseWriter, _ *http.Request, uri string) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	b, err := e.Open(uri)
	switch {
	case errors.Is(err, ErrNoEvidence):
		http.Error(w, "evidence not found (never stored or past retention)", http.StatusNotFound)
		return
	case errors.Is(err, ErrInvalidEvidence):
		http.Error(w, "invalid evidence reference", http.StatusBadRequest)
		return
	case err != nil:
		e.log.Error("reading evidence failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Disposition", `inline; filename="evidence.jpg"`)
	_, _ = w.Write(b)
}

// PruneStats says what a prune did.
type PruneStats struct {
	// Deleted counts files removed, DeletedBytes their size.
	Deleted      int
	DeletedBytes int64
	// Kept counts files left, KeptBytes their size.
	Kept      int
	KeptBytes int64
}

type evidenceFile struct {
	rel  string
	mod  time.Time
	size int64
}

// Prune applies the retention limit: it deletes files older than MaxAge,
// then the oldest files until the total is at most MaxBytes.
func (e *Evidence) Prune(ctx context.Context) (PruneStats, error) {
	e.pruneMu.Lock()
	defer e.pruneMu.Unlock()
	var files []evidenceFile
	err := fs.WalkDir(e.root.FS(), "frames", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // deleted meanwhile
		}
		if !strings.HasSuffix(p, ".jpg") && time.Since(fi.ModTime()) < time.Hour {
			return nil // a Put in progress; a crashed one's leftover goes after an hour
		}
		files = append(files, evidenceFile{rel: p, mod: fi.ModTime(), size: fi.Size()})
		return nil
	})
	if err != nil {
		return PruneStats{}, fmt.Errorf("moderation: evidence prune: %w", err)
	}
	slices.SortFunc(files, func(a, b evidenceFile) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.rel, b.rel)
	})
	var st PruneStats
	for _, f := range files {
		st.KeptBytes += f.size
	}
	cutoff := e.cfg.Now().Add(-e.cfg.MaxAge)
	dirs := map[string]bool{}
	for _, f := range files {
		if !f.mod.Before(cutoff) && st.KeptBytes <= e.cfg.MaxBytes {
			st.Kept++
			continue
		}
		if err := e.root.Remove(f.rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			e.log.Warn("deleting evidence failed", "path", f.rel, "error", err)
			st.Kept++
			continue
		}
		st.Deleted++
		st.DeletedBytes += f.size
		st.KeptBytes -= f.size
		dirs[path.Dir(f.rel)] = true
	}
	for d := range dirs {
		_ = e.root.Remove(d) // only succeeds when empty
	}
	e.mu.Lock()
	e.total = st.KeptBytes
	e.mu.Unlock()
	if st.Deleted > 0 {
		e.log.Info("evidence pruned", "deleted", st.Deleted, "deleted_bytes", st.DeletedBytes, "kept", st.Kept, "kept_bytes", st.KeptBytes)
	}
	return st, nil
}

// Run applies the retention limit every PruneInterval until ctx ends.
func (e *Evidence) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := e.Prune(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("evidence prune failed", "error", err)
			}
		}
	}
}
