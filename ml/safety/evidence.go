package safety

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// EvidenceScheme prefixes the URIs of evidence kept by an EvidenceDir.
const EvidenceScheme = "evidence:"

// ErrNoEvidence is returned by EvidenceDir.Open for an unknown or expired URI.
var ErrNoEvidence = errors.New("safety: no such evidence")

// EvidenceDir keeps the JPEGs of flagged frames on disk for review, under
// Dir/frames/<channel>/<frame>.jpg, and deletes those older than Retention.
type EvidenceDir struct {
	// Dir is the root folder. Required.
	Dir string
	// Retention is how long evidence is kept. It defaults to 30 days.
	Retention time.Duration
	// Now defaults to time.Now.
	Now func() time.Time

	mu        sync.Mutex
	lastPrune time.Time
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// name keeps ids that are safe as file names and hashes the others.
func name(id string) string {
	if safeName.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h" + hex.EncodeToString(sum[:12])
}

func (d *EvidenceDir) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *EvidenceDir) retention() time.Duration {
	if d.Retention <= 0 {
		return 30 * 24 * time.Hour
	}
	return d.Retention
}

// Put stores a frame's JPEG and returns its URI (EvidenceScheme + relative
// path). Storing the same frame again overwrites it.
func (d *EvidenceDir) Put(_ context.Context, channel, frameID string, jpeg []byte) (string, error) {
	if d.Dir == "" {
		return "", errors.New("safety: evidence 'Dir' is empty")
	}
	rel := filepath.Join("frames", name(channel), name(frameID)+".jpg")
	path := filepath.Join(d.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("safety: evidence: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, jpeg, 0o640); err != nil {
		return "", fmt.Errorf("safety: evidence: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("safety: evidence: %w", err)
	}
	d.maybePrune()
	return EvidenceScheme + filepath.ToSlash(rel), nil
}

// Open returns the stored bytes of an evidence URI.
func (d *EvidenceDir) Open(uri string) ([]byte, error) {
	rel, ok := strings.CutPrefix(uri, EvidenceScheme)
	if !ok || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, fmt.Errorf("%w: %q", ErrNoEvidence, uri)
	}
	b, err := os.ReadFile(filepath.Join(d.Dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", ErrNoEvidence, uri)
	}
	return b, err
}

// maybePrune deletes expired evidence, at most once a minute.
func (d *EvidenceDir) maybePrune() {
	d.mu.Lock()
	now := d.now()
	if now.Sub(d.lastPrune) < time.Minute {
		d.mu.Unlock()
		return
	}
	d.lastPrune = now
	d.mu.Unlock()
	d.Prune()
}

// Prune deletes evidence older than Retention.
func (d *EvidenceDir) Prune() {
	cutoff := d.now().Add(-d.retention())
	root := filepath.Join(d.Dir, "frames")
	_ = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(path)
		}
		return nil
	})
}
