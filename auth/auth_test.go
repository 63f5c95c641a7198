package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

var cheap = auth.Params{Time: 1, MemoryKiB: 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHashing(t *testing.T) {
	h, err := auth.HashPassword("correct horse", cheap)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$"), h)
	h2, err := auth.HashPassword("correct horse", cheap)
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "a fresh salt per hash")

	ok, rehash, err := auth.VerifyPassword(h, "correct horse", cheap)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
	ok, _, err = auth.VerifyPassword(h, "correct horsf", cheap)
	require.NoError(t, err)
	require.False(t, ok)
	_, rehash, _ = auth.VerifyPassword(h, "correct horse", auth.DefaultParams)
	require.True(t, rehash, "weaker stored parameters need a rehash")

	// NFKC: the full-width form of a password is the same password.
	hw, err := auth.HashPassword("ｐａｓｓｗｏｒｄ１", cheap)
	require.NoError(t, err)
	ok, _, _ = auth.VerifyPassword(hw, "password1", cheap)
	require.True(t, ok)

	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=1024,t=1,p=1$!!$!!"} {
		_, _, err := auth.VerifyPassword(bad, "x", cheap)
		require.Error(t, err, bad)
	}
}

func TestDefaultParamsDocumented(t *testing.T) {
	require.Equal(t, auth.Params{Time: 3, MemoryKiB: 65536, Threads: 2, SaltLen: 16, KeyLen: 32}, auth.DefaultParams)
}

func TestValidatePassword(t *testing.T) {
	require.NoError(t, auth.ValidatePassword("eight ch"))
	for _, bad := range []string{"short", strings.Repeat("x", 129), "bad\xffutf8 pass"} {
		err := auth.ValidatePassword(bad)
		require.ErrorIs(t, err, store.ErrInvalid)
		require.NotContains(t, err.Error(), bad)
	}
}

func TestSecretsFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k, d := auth.NewStreamKey()
		require.True(t, strings.HasPrefix(k, "live_"))
		require.Len(t, k, 5+43)
		require.Equal(t, auth.Digest(k), d)
		require.Len(t, d, 32)
		require.False(t, seen[k])
		seen[k] = true
	}
	id, secret, d := auth.NewClientCredentials()
	require.NoError(t, store.ValidateClientID(id))
	require.True(t, strings.HasPrefix(secret, "bcs_"))
	require.Equal(t, auth.Digest(secret), d)
}

func TestTOTPCode(t *testing.T) {
	// RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (base32 below), 6 digits.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	code, err := auth.TOTPCode(secret, time.Unix(59, 0))
	require.NoError(t, err)
	require.Equal(t, "287082", code)
	code, err = auth.TOTPCode(secret, time.Unix(1111111109, 0))
	require.NoError(t, err)
	require.Equal(t, "081804", code)
	require.Equal(t, int64(37037036), auth.TOTPStep(time.Unix(1111111109, 0)))
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := auth.NewLimiter(auth.LimiterConfig{Rate: 1, Burst: 3, MaxKeys: 4, Now: func() time.Time { return now }})
	for range 3 {
		require.True(t, l.Allow("203.0.113.1"))
	}
	ok, wait := l.Reserve("203.0.113.1")
	require.False(t, ok, "burst exhausted")
	require.InDelta(t, time.Second.Seconds(), wait.Seconds(), 0.01)
	require.True(t, l.Allow("203.0.113.2"), "buckets are per key")
	now = now.Add(time.Second)
	require.True(t, l.Allow("203.0.113.1"), "refilled at the rate")
	require.False(t, l.Allow("203.0.113.1"))

	// Memory stays bounded under many keys.
	for i := range 100 {
		now = now.Add(time.Millisecond)
		l.Allow(strings.Repeat("k", i+1))
	}
	require.LessOrEqual(t, l.Len(), 4)
}

func TestPrincipal(t *testing.T) {
	p := auth.Principal{Kind: auth.PrincipalClient, Scopes: []string{"streams:read"}}
	require.NoError(t, p.RequireScopes("streams:read"))
	err := p.RequireScopes("streams:read", "channels:write")
	require.ErrorIs(t, err, auth.ErrInsufficientScope)
	require.Contains(t, err.Error(), "channels:write")
	require.ErrorIs(t, p.RequireRole(store.RoleAdmin), auth.ErrForbidden)

	c := auth.SessionCookie("v", time.Now().Add(time.Hour))
	require.True(t, c.Secure && c.HttpOnly)
	require.Equal(t, auth.SessionCookieName, c.Name)
	require.Equal(t, -1, auth.SessionCookie("", time.Time{}).MaxAge)
}

func BenchmarkHashPasswordDefault(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword("correct horse battery staple", auth.DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	k, _ := auth.NewStreamKey()
	for b.Loop() {
		auth.Digest(k)
	}
}
