package safety

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEvidenceDir(t *testing.T) {
	now := time.Now()
	d := &EvidenceDir{Dir: t.TempDir(), Retention: time.Hour, Now: func() time.Time { return now }}
	uri, err := d.Put(context.Background(), "chan-1", "frame_7", []byte("jpeg"))
	require.NoError(t, err)
	require.Equal(t, "evidence:frames/chan-1/frame_7.jpg", uri)
	b, err := d.Open(uri)
	require.NoError(t, err)
	require.Equal(t, []byte("jpeg"), b)

	// Hostile ids never leave the folder.
	uri2, err := d.Put(context.Background(), "../../etc", "x/../../y", []byte("j2"))
	require.NoError(t, err)
	require.NotContains(t, uri2, "..")
	_, err = d.Open("evidence:../../etc/passwd")
	require.ErrorIs(t, err, ErrNoEvidence)
	_, err = d.Open("file:///etc/passwd")
	require.ErrorIs(t, err, ErrNoEvidence)

	// Expired evidence is pruned.
	old := now.Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(d.Dir, "frames", "chan-1", "frame_7.jpg"), old, old))
	d.Prune()
	_, err = d.Open(uri)
	require.ErrorIs(t, err, ErrNoEvidence)
	_, err = d.Open(uri2)
	require.NoError(t, err)
}
