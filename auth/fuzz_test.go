package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// keyStore answers every lookup with one known key.
type keyStore struct{ k store.StreamKey }

func (s keyStore) RotateStreamKey(context.Context, store.ChannelID, []byte) (store.StreamKey, error) {
	return store.StreamKey{}, errors.ErrUnsupported
}
func (s keyStore) RevokeStreamKeys(context.Context, store.ChannelID) (int, error) { return 0, nil }
func (s keyStore) StreamKeyByHash(_ context.Context, h []byte) (store.StreamKey, error) {
	if string(h) == string(s.k.Hash) {
		return s.k, nil
	}
	return store.StreamKey{}, store.ErrNotFound
}

// FuzzVerifyStreamKey feeds arbitrary presented keys (untrusted input from
// RTMP publishers) to the verifier: only the real key passes, nothing panics.
func FuzzVerifyStreamKey(f *testing.F) {
	key, digest := auth.NewStreamKey()
	st := keyStore{k: store.StreamKey{ID: 1, ChannelID: 7, Hash: digest}}
	for _, s := range []string{key, "", "live_", "live_" + key, key[:20], "'; DROP TABLE stream_keys;--", "live_\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, presented string) {
		k, err := auth.VerifyStreamKey(context.Background(), st, presented)
		if presented == key {
			require.NoError(t, err)
			require.Equal(t, store.ChannelID(7), k.ChannelID)
			return
		}
		require.ErrorIs(t, err, auth.ErrInvalidStreamKey)
	})
}
