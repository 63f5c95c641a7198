package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/auth"
	"github.com/beaconlive/beacon/store"
)

// TestParams are cheap argon2id parameters so the suite runs quickly; the
// production ones are auth.DefaultParams.
var TestParams = auth.Params{Time: 1, MemoryKiB: 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// Clock is a settable clock for expiry and lockout tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now().UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newAuth(t *testing.T, s store.Store, clock *Clock, log *slog.Logger, cacheTTL time.Duration) *auth.Service {
	t.Helper()
	cfg := auth.Config{Store: s, Password: TestParams, Logger: log, TokenCacheTTL: cacheTTL}
	if clock != nil {
		cfg.Now = clock.Now
	}
	a, err := auth.New(cfg)
	require.NoError(t, err)
	return a
}

func testAuthStreamKeys(t *testing.T, s store.Store) {
	c := ctx(t)
	a := newAuth(t, s, nil, nil, 0)
	u := mkUser(t, s, "livestreamer")
	ch, key, err := a.CreateChannel(c, 0, store.NewChannel{OwnerID: u.ID, Title: "first"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(key, auth.StreamKeyPrefix))
	require.GreaterOrEqual(t, len(key), len(auth.StreamKeyPrefix)+43, "≥ 32 random bytes")
	u, _ = s.UserByID(c, u.ID)
	require.True(t, u.HasRole(store.RoleStreamer))

	k, err := a.VerifyStreamKey(c, key, "127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, ch.ID, k.ChannelID)
	id, err := auth.IngestKeys{Service: a}.VerifyStreamKey(c, key)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(ch.ID), id)
	_, err = auth.IngestKeys{Service: a}.VerifyStreamKey(c, "live_nope")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey)
	require.Equal(t, u.ID, k.OwnerID)

	// Only the digest is stored: the store has no way to look the key up by value.
	_, err = s.StreamKeyByHash(c, []byte(key))
	require.ErrorIs(t, err, store.ErrInvalid)
	rec, err := s.StreamKeyByHash(c, auth.Digest(key))
	require.NoError(t, err)
	require.NotContains(t, string(rec.Hash), key)

	for _, bad := range []string{"", "live_", key[:len(key)-1], key + "x", flipLast(key), "live_" + strings.Repeat("A", 43), key[:len(key)-1] + "!", "'; DROP TABLE stream_keys;--"} {
		_, err := a.VerifyStreamKey(c, bad, "127.0.0.1")
		require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "%q", bad)
	}

	key2, err := a.RotateStreamKey(c, u.ID, ch.ID)
	require.NoError(t, err)
	require.NotEqual(t, key, key2)
	_, err = a.VerifyStreamKey(c, key, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "rotated key fails")
	require.Contains(t, err.Error(), "revoked")
	_, err = a.VerifyStreamKey(c, key2, "127.0.0.1")
	require.NoError(t, err)

	require.NoError(t, a.RevokeStreamKeys(c, u.ID, ch.ID))
	_, err = a.VerifyStreamKey(c, key2, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "revoked key fails")

	key3, err := a.RotateStreamKey(c, u.ID, ch.ID)
	require.NoError(t, err)
	require.NoError(t, s.SetDisabled(c, u.ID, true))
	_, err = a.VerifyStreamKey(c, key3, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidStreamKey, "a disabled owner cannot go live")

	evs, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditKeyRejected})
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	rot, _ := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditKeyRotated})
	require.Len(t, rot, 2)
}

func testAuthTokens(t *testing.T, s store.Store) {
	c := ctx(t)
	clock := NewClock()
	a := newAuth(t, s, clock, nil, -1) // no cache: every check reads the store
	admin := mkUser(t, s, "tokenadmin", store.RoleAdmin)
	creds, err := a.CreateAPIClient(c, admin.ID, "Recommender", []string{"streams:read", "follows:read"})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(creds.Secret, auth.ClientSecretPrefix))
	cl, err := s.APIClientByID(c, creds.ClientID)
	require.NoError(t, err)
	require.Equal(t, auth.Digest(creds.Secret), cl.SecretHash, "only the digest is stored")

	_, err = a.IssueToken(c, creds.ClientID, flipLast(creds.Secret), nil, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidClient)
	_, err = a.IssueToken(c, "bc_unknown", creds.Secret, nil, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidClient)
	_, err = a.IssueToken(c, creds.ClientID, creds.Secret, []string{"admin:write"}, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidScope)

	tok, err := a.IssueToken(c, creds.ClientID, creds.Secret, []string{"streams:read"}, "127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "Bearer", tok.TokenType)
	require.Equal(t, []string{"streams:read"}, tok.Scopes)
	p, err := a.VerifyToken(c, tok.AccessToken, "streams:read")
	require.NoError(t, err)
	require.Equal(t, auth.PrincipalClient, p.Kind)
	require.Equal(t, creds.ClientID, p.ClientID)

	_, err = a.VerifyToken(c, tok.AccessToken, "follows:read")
	require.ErrorIs(t, err, auth.ErrInsufficientScope, "token missing a scope fails")
	require.Contains(t, err.Error(), "follows:read")
	for _, bad := range []string{"", "bat_", tok.AccessToken + "x", "Bearer " + tok.AccessToken, "bat_" + strings.Repeat("A", 43)} {
		_, err := a.VerifyToken(c, bad)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "%q", bad)
	}

	all, err := a.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, []string{"follows:read", "streams:read"}, all.Scopes, "no requested scope: all of the client's")

	clock.Advance(time.Hour + time.Second)
	_, err = a.VerifyToken(c, tok.AccessToken, "streams:read")
	require.ErrorIs(t, err, auth.ErrTokenExpired, "expired token fails")

	fresh, err := a.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, a.RevokeToken(c, fresh.AccessToken))
	_, err = a.VerifyToken(c, fresh.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked, "revoked token fails")

	// Revocation through the store (another process) with the cache disabled.
	other, err := a.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, s.RevokeAccessToken(c, auth.Digest(other.AccessToken)))
	_, err = a.VerifyToken(c, other.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)

	// A cached verifier honours its own revocations at once.
	cached := newAuth(t, s, clock, nil, time.Minute)
	ct, err := cached.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	_, err = cached.VerifyToken(c, ct.AccessToken, "streams:read")
	require.NoError(t, err)
	_, err = cached.VerifyToken(c, ct.AccessToken, "streams:write")
	require.ErrorIs(t, err, auth.ErrInsufficientScope, "cached tokens still check scopes")
	require.NoError(t, cached.RevokeToken(c, ct.AccessToken))
	_, err = cached.VerifyToken(c, ct.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	ct2, err := cached.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	_, err = cached.VerifyToken(c, ct2.AccessToken)
	require.NoError(t, err)
	clock.Advance(2 * time.Hour)
	_, err = cached.VerifyToken(c, ct2.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenExpired, "cached tokens still expire")

	// Revoking the client kills its tokens and its grant.
	live, err := a.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.NoError(t, err)
	require.NoError(t, a.RevokeAPIClient(c, admin.ID, creds.ClientID))
	_, err = a.VerifyToken(c, live.AccessToken)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, err = a.IssueToken(c, creds.ClientID, creds.Secret, nil, "127.0.0.1")
	require.ErrorIs(t, err, auth.ErrInvalidClient)

	denied, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditTokenDenied})
	require.NoError(t, err)
	require.Len(t, denied, 4)

	// Only admins create clients.
	viewer := mkUser(t, s, "notadmin")
	_, err = a.CreateAPIClient(c, viewer.ID, "x", nil)
	require.ErrorIs(t, err, auth.ErrForbidden)
}

func testAuthLogin(t *testing.T, s store.Store) {
	c := ctx(t)
	clock := NewClock()
	a := newAuth(t, s, clock, nil, 0)
	_, err := a.SignUp(c, auth.SignUpRequest{Login: "Dana", Password: "short"})
	require.ErrorIs(t, err, store.ErrInvalid)
	u, err := a.SignUp(c, auth.SignUpRequest{Login: "Dana", Password: "correct horse battery", Email: "dana@example.com", IP: "127.0.0.1"})
	require.NoError(t, err)
	require.Equal(t, "dana", u.Login)
	require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=1$"))
	_, err = a.SignUp(c, auth.SignUpRequest{Login: "DANA", Password: "another password"})
	require.ErrorIs(t, err, store.ErrDuplicate)

	_, err = a.Login(c, auth.LoginRequest{Login: "dana", Password: "wrong password"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = a.Login(c, auth.LoginRequest{Login: "nobody", Password: "whatever"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "unknown logins look like wrong passwords")
	_, err = a.Login(c, auth.LoginRequest{Login: "'; DROP TABLE users;--", Password: "x"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)

	res, err := a.Login(c, auth.LoginRequest{Login: "DANA", Password: "correct horse battery", IP: "127.0.0.1", UserAgent: "test"})
	require.NoError(t, err)
	require.False(t, res.MFARequired)
	require.NotEmpty(t, res.Session)
	u, _ = s.UserByID(c, u.ID)
	require.Zero(t, u.FailedLogins, "a success resets the failure counter")

	p, err := a.ResolveSession(c, res.Session)
	require.NoError(t, err)
	require.Equal(t, auth.PrincipalUser, p.Kind)
	require.Equal(t, u.ID, p.UserID)
	require.Equal(t, []store.Role{store.RoleViewer}, p.Roles)
	_, err = s.SessionByHash(c, auth.Digest(res.Session))
	require.NoError(t, err, "the session id is stored as its digest")

	cookie := auth.SessionCookie(res.Session, res.ExpiresAt)
	require.True(t, cookie.Secure)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, 2, int(cookie.SameSite)) // http.SameSiteLaxMode

	require.NoError(t, a.Logout(c, res.Session, "127.0.0.1"))
	_, err = a.ResolveSession(c, res.Session)
	require.ErrorIs(t, err, auth.ErrTokenRevoked)
	_, err = a.ResolveSession(c, "garbage")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)

	res, err = a.Login(c, auth.LoginRequest{Login: "dana", Password: "correct horse battery"})
	require.NoError(t, err)
	clock.Advance(15 * 24 * time.Hour)
	_, err = a.ResolveSession(c, res.Session)
	require.ErrorIs(t, err, auth.ErrTokenExpired)

	require.NoError(t, a.ChangePassword(c, u.ID, "correct horse battery", "new long password"))
	_, err = a.Login(c, auth.LoginRequest{Login: "dana", Password: "correct horse battery"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = a.Login(c, auth.LoginRequest{Login: "dana", Password: "new long password"})
	require.NoError(t, err)

	require.NoError(t, s.SetDisabled(c, u.ID, true))
	_, err = a.Login(c, auth.LoginRequest{Login: "dana", Password: "new long password"})
	require.ErrorIs(t, err, auth.ErrAccountDisabled)

	kinds := map[store.AuditKind]int{}
	evs, err := s.AuditEvents(c, store.AuditFilter{Limit: 1000})
	require.NoError(t, err)
	for _, e := range evs {
		kinds[e.Kind]++
	}
	require.Equal(t, 1, kinds[store.AuditSignUp])
	require.Equal(t, 3, kinds[store.AuditLogin])
	require.Equal(t, 5, kinds[store.AuditLoginFailed])
	require.Equal(t, 1, kinds[store.AuditLogout])
	require.Equal(t, 1, kinds[store.AuditPasswordChanged])
}

func testAuthLockout(t *testing.T, s store.Store) {
	c := ctx(t)
	clock := NewClock()
	a := newAuth(t, s, clock, nil, 0)
	u, err := a.SignUp(c, auth.SignUpRequest{Login: "target", Password: "the real password"})
	require.NoError(t, err)
	for i := 1; i <= 4; i++ {
		_, err := a.Login(c, auth.LoginRequest{Login: "target", Password: "guess", IP: "203.0.113.9"})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "attempt %d", i)
	}
	_, err = a.Login(c, auth.LoginRequest{Login: "target", Password: "guess", IP: "203.0.113.9"})
	var le *auth.LockedError
	require.ErrorAs(t, err, &le, "the 5th failure locks the account")
	require.ErrorIs(t, err, auth.ErrLocked)
	require.WithinDuration(t, clock.Now().Add(time.Minute), le.Until, time.Millisecond)

	// The right password is refused during the lockout.
	_, err = a.Login(c, auth.LoginRequest{Login: "target", Password: "the real password"})
	require.ErrorIs(t, err, auth.ErrLocked)

	// Backoff: the next failure after the lockout doubles it.
	clock.Advance(61 * time.Second)
	_, err = a.Login(c, auth.LoginRequest{Login: "target", Password: "guess again"})
	require.ErrorAs(t, err, &le)
	require.WithinDuration(t, clock.Now().Add(2*time.Minute), le.Until, time.Millisecond)

	clock.Advance(121 * time.Second)
	_, err = a.Login(c, auth.LoginRequest{Login: "target", Password: "the real password"})
	require.NoError(t, err)
	u, _ = s.UserByID(c, u.ID)
	require.Zero(t, u.FailedLogins)
	require.True(t, u.LockedUntil.IsZero())

	failed, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditLoginFailed, UserID: u.ID})
	require.NoError(t, err)
	require.Len(t, failed, 6)
	require.Equal(t, "203.0.113.9", failed[len(failed)-1].IP)
	locked, err := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditLoginLocked, UserID: u.ID})
	require.NoError(t, err)
	require.Len(t, locked, 3, "two lockouts and one attempt during a lockout")
	require.Equal(t, store.OutcomeDenied, locked[0].Outcome)
}

func testAuthTOTP(t *testing.T, s store.Store) {
	c := ctx(t)
	clock := NewClock()
	a := newAuth(t, s, clock, nil, 0)
	u, err := a.SignUp(c, auth.SignUpRequest{Login: "secure", Password: "a long password"})
	require.NoError(t, err)
	enr, err := a.BeginTOTP(c, u.ID)
	require.NoError(t, err)
	require.Contains(t, enr.URL, "otpauth://totp/Beacon:secure")
	_, err = a.ConfirmTOTP(c, u.ID, "000000")
	require.ErrorIs(t, err, auth.ErrInvalidTOTP)
	code, err := auth.TOTPCode(enr.Secret, clock.Now())
	require.NoError(t, err)
	recovery, err := a.ConfirmTOTP(c, u.ID, code)
	require.NoError(t, err)
	require.Len(t, recovery, auth.RecoveryCodeCount)

	res, err := a.Login(c, auth.LoginRequest{Login: "secure", Password: "a long password"})
	require.NoError(t, err)
	require.True(t, res.MFARequired)
	require.Empty(t, res.Session)
	_, err = a.ResolveSession(c, res.Challenge)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a challenge is not a session")

	// The code used to enable TOTP cannot be replayed to log in.
	_, err = a.LoginTOTP(c, res.Challenge, code, "", "")
	require.ErrorIs(t, err, auth.ErrTOTPReplayed)
	clock.Advance(30 * time.Second)
	code2, _ := auth.TOTPCode(enr.Secret, clock.Now())
	done, err := a.LoginTOTP(c, res.Challenge, code2, "127.0.0.1", "ua")
	require.NoError(t, err)
	require.NotEmpty(t, done.Session)
	_, err = a.ResolveSession(c, done.Session)
	require.NoError(t, err)
	_, err = a.LoginTOTP(c, res.Challenge, code2, "", "")
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a challenge is used once")

	// Replay of the same code on a new challenge is refused.
	res, err = a.Login(c, auth.LoginRequest{Login: "secure", Password: "a long password"})
	require.NoError(t, err)
	_, err = a.LoginTOTP(c, res.Challenge, code2, "", "")
	require.ErrorIs(t, err, auth.ErrTOTPReplayed, "replayed TOTP code refused")

	// An expired code (two periods old) is refused.
	old, _ := auth.TOTPCode(enr.Secret, clock.Now().Add(-90*time.Second))
	_, err = a.LoginTOTP(c, res.Challenge, old, "", "")
	require.ErrorIs(t, err, auth.ErrInvalidTOTP)

	// A recovery code works once, in any case and with or without dashes.
	rc := strings.ToLower(strings.ReplaceAll(recovery[0], "-", ""))
	done, err = a.LoginTOTP(c, res.Challenge, rc, "", "")
	require.NoError(t, err)
	require.NotEmpty(t, done.Session)
	res, _ = a.Login(c, auth.LoginRequest{Login: "secure", Password: "a long password"})
	_, err = a.LoginTOTP(c, res.Challenge, recovery[0], "", "")
	require.ErrorIs(t, err, auth.ErrInvalidTOTP, "a used recovery code is refused")

	// The challenge expires.
	clock.Advance(6 * time.Minute)
	code3, _ := auth.TOTPCode(enr.Secret, clock.Now())
	_, err = a.LoginTOTP(c, res.Challenge, code3, "", "")
	require.ErrorIs(t, err, auth.ErrUnauthenticated)

	clock.Advance(30 * time.Second)
	code4, _ := auth.TOTPCode(enr.Secret, clock.Now())
	require.NoError(t, a.DisableTOTP(c, u.ID, code4))
	res, err = a.Login(c, auth.LoginRequest{Login: "secure", Password: "a long password"})
	require.NoError(t, err)
	require.False(t, res.MFARequired)

	failed, _ := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditTOTPFailed})
	require.Len(t, failed, 4)
	en, _ := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditTOTPEnabled})
	require.Len(t, en, 1)
	rec, _ := s.AuditEvents(c, store.AuditFilter{Kind: store.AuditRecoveryUsed})
	require.Len(t, rec, 1)
}

func testAuthRoles(t *testing.T, s store.Store) {
	c := ctx(t)
	a := newAuth(t, s, nil, nil, 0)
	admin := mkUser(t, s, "boss", store.RoleAdmin)
	mod := mkUser(t, s, "helper")
	require.NoError(t, a.GrantRole(c, admin.ID, mod.ID, store.RoleModerator))
	mod, _ = s.UserByID(c, mod.ID)
	require.True(t, mod.HasRole(store.RoleModerator))
	err := a.GrantRole(c, mod.ID, mod.ID, store.RoleAdmin)
	require.ErrorIs(t, err, auth.ErrForbidden, "only admins grant roles")
	require.NoError(t, a.RevokeRole(c, admin.ID, mod.ID, store.RoleModerator))
	evs, _ := s.AuditEvents(c, store.AuditFilter{UserID: mod.ID})
	kinds := []store.AuditKind{}
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []store.AuditKind{store.AuditRoleRevoked, store.AuditAccessDenied, store.AuditRoleGranted}, kinds)

	p := auth.Principal{Kind: auth.PrincipalUser, Roles: []store.Role{store.RoleViewer}}
	require.ErrorIs(t, p.RequireRole(store.RoleModerator, store.RoleAdmin), auth.ErrForbidden)
	require.NoError(t, p.RequireRole(store.RoleViewer))
}

// testSecretsNotLogged runs every flow that handles a secret with logs
// captured at debug level, then greps the logs, the audit log and the error
// messages for each secret.
func testSecretsNotLogged(t *testing.T, s store.Store) {
	c := ctx(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := NewClock()
	a := newAuth(t, s, clock, log, 0)
	var secrets []string
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}

	password := "Sup3r-Secret-Passw0rd"
	secrets = append(secrets, password)
	u, err := a.SignUp(c, auth.SignUpRequest{Login: "leaky", Password: password})
	require.NoError(t, err)
	_, err = a.Login(c, auth.LoginRequest{Login: "leaky", Password: password + "x"})
	note(err)
	_, err = a.Login(c, auth.LoginRequest{Login: password, Password: password}) // password typed into the login field
	note(err)
	res, err := a.Login(c, auth.LoginRequest{Login: "leaky", Password: password})
	require.NoError(t, err)
	secrets = append(secrets, res.Session)
	_, err = a.ResolveSession(c, res.Session)
	require.NoError(t, err)

	_, key, err := a.CreateChannel(c, u.ID, store.NewChannel{OwnerID: u.ID})
	require.NoError(t, err)
	secrets = append(secrets, key)
	_, err = a.VerifyStreamKey(c, key, "")
	require.NoError(t, err)
	key2, err := a.RotateStreamKey(c, u.ID, 1)
	note(err)
	if err == nil {
		secrets = append(secrets, key2)
	}
	_, err = a.VerifyStreamKey(c, key, "")
	note(err)

	admin := mkUser(t, s, "leakadmin", store.RoleAdmin)
	creds, err := a.CreateAPIClient(c, admin.ID, "c", []string{"streams:read"})
	require.NoError(t, err)
	secrets = append(secrets, creds.Secret)
	_, err = a.IssueToken(c, creds.ClientID, creds.Secret+"x", nil, "")
	note(err)
	tok, err := a.IssueToken(c, creds.ClientID, creds.Secret, nil, "")
	require.NoError(t, err)
	secrets = append(secrets, tok.AccessToken)
	_, err = a.VerifyToken(c, tok.AccessToken, "nope:scope")
	note(err)

	enr, err := a.BeginTOTP(c, u.ID)
	require.NoError(t, err)
	secrets = append(secrets, enr.Secret)
	code, _ := auth.TOTPCode(enr.Secret, clock.Now())
	recovery, err := a.ConfirmTOTP(c, u.ID, code)
	require.NoError(t, err)
	secrets = append(secrets, recovery...)
	res, err = a.Login(c, auth.LoginRequest{Login: "leaky", Password: password})
	require.NoError(t, err)
	secrets = append(secrets, res.Challenge)
	_, err = a.LoginTOTP(c, res.Challenge, recovery[0], "", "")
	require.NoError(t, err)

	evs, err := s.AuditEvents(c, store.AuditFilter{Limit: 1000})
	require.NoError(t, err)
	var audit strings.Builder
	for _, e := range evs {
		audit.WriteString(e.Login + " " + e.Detail + " " + e.IP + " " + e.ClientID + "\n")
	}
	require.NotEmpty(t, buf.String(), "logs were captured")
	require.NotEmpty(t, errs)
	for _, sec := range secrets {
		require.NotEmpty(t, sec)
		require.NotContains(t, buf.String(), sec, "a secret reached the logs")
		require.NotContains(t, audit.String(), sec, "a secret reached the audit log")
		for _, e := range errs {
			require.NotContains(t, e, sec, "a secret reached an error message")
		}
	}
	require.False(t, errors.Is(nil, auth.ErrLocked))
}

// flipLast changes the last character of a secret to a different valid one.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}
