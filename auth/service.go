package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beaconlive/beacon/store"
)

// Config configures a Service.
type Config struct {
	// Store is required.
	Store store.Store
	// Logger defaults to a discarding logger. Secrets are never logged.
	Logger *slog.Logger
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
	// Password are the argon2id parameters of new hashes. They default to
	// DefaultParams.
	Password Params
	// MaxFailures is how many consecutive wrong passwords lock an account.
	// It defaults to 5.
	MaxFailures int
	// LockoutBase is the first lockout; each further failure doubles it. It
	// defaults to 1 minute.
	LockoutBase time.Duration
	// LockoutMax caps the lockout. It defaults to 1 hour.
	LockoutMax time.Duration
	// SessionTTL is a web session's lifetime. It defaults to 14 days.
	SessionTTL time.Duration
	// ChallengeTTL is how long a login waits for its TOTP code. It defaults
	// to 5 minutes.
	ChallengeTTL time.Duration
	// TokenTTL is an access token's lifetime. It defaults to 1 hour.
	TokenTTL time.Duration
	// TokenCacheTTL is how long a verified access token is trusted without
	// reading the store again (revocations through this Service take effect
	// at once; through another process, within this time). It defaults to
	// 2 seconds; a negative value disables the cache.
	TokenCacheTTL time.Duration
	// TokenCacheSize bounds the cache. It defaults to 65,536 tokens.
	TokenCacheSize int
	// Issuer names the service in authenticator apps. It defaults to "Beacon".
	Issuer string
	// MaxConcurrentHashes bounds concurrent argon2id runs. It defaults to 4.
	MaxConcurrentHashes int
}

// Service implements sign-up, login, sessions, TOTP, stream keys, API
// clients and tokens over a store, auditing every security event.
type Service struct {
	cfg       Config
	st        store.Store
	log       *slog.Logger
	slots     hashSlots
	dummyOnce sync.Once
	dummy     string // a hash verified for unknown logins, to equalize timing

	cacheMu sync.RWMutex
	cache   map[[32]byte]cachedToken
}

type cachedToken struct {
	p     Principal
	until time.Time
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Password == (Params{}) {
		cfg.Password = DefaultParams
	}
	// Fields left zero take the defaults, so a partial Params never reaches
	// argon2 with a zero key or salt length.
	if cfg.Password.Time == 0 {
		cfg.Password.Time = DefaultParams.Time
	}
	if cfg.Password.MemoryKiB == 0 {
		cfg.Password.MemoryKiB = DefaultParams.MemoryKiB
	}
	if cfg.Password.Threads == 0 {
		cfg.Password.Threads = DefaultParams.Threads
	}
	if cfg.Password.SaltLen == 0 {
		cfg.Password.SaltLen = DefaultParams.SaltLen
	}
	if cfg.Password.KeyLen == 0 {
		cfg.Password.KeyLen = DefaultParams.KeyLen
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockoutBase <= 0 {
		cfg.LockoutBase = time.Minute
	}
	if cfg.LockoutMax <= 0 {
		cfg.LockoutMax = time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 14 * 24 * time.Hour
	}
	if cfg.ChallengeTTL <= 0 {
		cfg.ChallengeTTL = 5 * time.Minute
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.TokenCacheTTL == 0 {
		cfg.TokenCacheTTL = 2 * time.Second
	}
	if cfg.TokenCacheSize <= 0 {
		cfg.TokenCacheSize = 1 << 16
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Beacon"
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = 4
	}
	s := &Service{
		cfg:   cfg,
		st:    cfg.Store,
		log:   cfg.Logger.With("component", "auth"),
		slots: make(hashSlots, cfg.MaxConcurrentHashes),
		cache: make(map[[32]byte]cachedToken),
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// audit appends e; a failure to audit is logged, never hidden.
func (s *Service) audit(ctx context.Context, e store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if _, err := s.st.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit append failed", "kind", e.Kind, "error", err)
	}
}

// Hash returns the argon2id hash of a password, validating it first.
func (s *Service) Hash(ctx context.Context, password string) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	if err := s.slots.acquire(ctx); err != nil {
		return "", err
	}
	defer s.slots.release()
	return HashPassword(password, s.cfg.Password)
}

func (s *Service) verify(ctx context.Context, phc, password string) (ok, rehash bool, err error) {
	if err := s.slots.acquire(ctx); err != nil {
		return false, false, err
	}
	defer s.slots.release()
	return VerifyPassword(phc, password, s.cfg.Password)
}

// SignUpRequest is the input of SignUp.
type SignUpRequest struct {
	Login, Password, DisplayName, Email string
	// Roles beyond viewer (admin tools only; the public endpoint sets none).
	Roles []store.Role
	// IP of the caller, for the audit log.
	IP string
}

// SignUp creates an account. Errors: *store.ValidationError (bad login,
// password, e-mail…), store.ErrDuplicate (login taken, including case and
// compatibility variants).
func (s *Service) SignUp(ctx context.Context, r SignUpRequest) (store.User, error) {
	login, err := store.NormalizeLogin(r.Login)
	if err != nil {
		return store.User{}, err
	}
	hash, err := s.Hash(ctx, r.Password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.st.CreateUser(ctx, store.NewUser{Login: login, DisplayName: r.DisplayName, Email: r.Email, PasswordHash: hash, Roles: r.Roles})
	if err != nil {
		return store.User{}, err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditSignUp, SubjectID: u.ID, ActorID: u.ID, Login: u.Login, IP: r.IP})
	s.log.Info("user signed up", "user_id", u.ID, "login", u.Login)
	return u, nil
}

// LoginRequest is the input of Login.
type LoginRequest struct {
	Login, Password string
	IP, UserAgent   string
}

// LoginResult is a successful first factor.
type LoginResult struct {
	User store.User
	// Session is the session cookie value (set when no second factor is needed).
	Session   string
	ExpiresAt time.Time
	// MFARequired is set when the user must send a TOTP or recovery code to
	// LoginTOTP with Challenge.
	MFARequired bool
	Challenge   string
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if r := []rune(s); len(r) > n {
		s = string(r[:n])
	}
	var b strings.Builder
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == 0x2028 || c == 0x2029 {
			c = '?'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Login checks a login and password. Errors: ErrInvalidCredentials,
// *LockedError (ErrLocked), ErrAccountDisabled. Every failure is audited;
// the lockout policy is described in the package doc.
func (s *Service) Login(ctx context.Context, r LoginRequest) (LoginResult, error) {
	ip, ua := clip(r.IP, store.MaxIPLen), clip(r.UserAgent, store.MaxUserAgentLen)
	login, lerr := store.NormalizeLogin(r.Login)
	var u store.User
	var err error
	if lerr == nil {
		u, err = s.st.UserByLogin(ctx, login)
	}
	if lerr != nil || errors.Is(err, store.ErrNotFound) {
		// Same work as a real check, so timing does not reveal the login.
		s.dummyOnce.Do(func() { s.dummy, _ = HashPassword(b64.EncodeToString(randomBytes(16)), s.cfg.Password) })
		_, _, _ = s.verify(ctx, s.dummy, r.Password)
		s.audit(ctx, store.AuditEvent{Kind: store.AuditLoginFailed, Outcome: store.OutcomeFailure, Login: login, IP: ip, Detail: "unknown login"})
		return LoginResult{}, ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, err
	}
	now := s.now()
	if !u.LockedUntil.IsZero() && now.Before(u.LockedUntil) {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditLoginLocked, Outcome: store.OutcomeDenied, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: "attempt during lockout"})
		return LoginResult{}, &LockedError{Until: u.LockedUntil}
	}
	ok, rehash, err := s.verify(ctx, u.PasswordHash, r.Password)
	if err != nil && !errors.Is(err, errBadHash) {
		return LoginResult{}, err
	}
	if !ok {
		n, ferr := s.st.RecordLoginFailure(ctx, u.ID)
		if ferr != nil {
			return LoginResult{}, ferr
		}
		s.audit(ctx, store.AuditEvent{Kind: store.AuditLoginFailed, Outcome: store.OutcomeFailure, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: fmt.Sprintf("wrong password (%d consecutive)", n)})
		if n >= s.cfg.MaxFailures {
			d := s.cfg.LockoutBase << min(n-s.cfg.MaxFailures, 30)
			if d > s.cfg.LockoutMax || d <= 0 {
				d = s.cfg.LockoutMax
			}
			until := now.Add(d)
			if err := s.st.SetLockedUntil(ctx, u.ID, until); err != nil {
				return LoginResult{}, err
			}
			s.audit(ctx, store.AuditEvent{Kind: store.AuditLoginLocked, Outcome: store.OutcomeDenied, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: fmt.Sprintf("locked for %s after %d failures", d, n)})
			s.log.Warn("account locked after failed logins", "user_id", u.ID, "failures", n, "until", until)
			return LoginResult{}, &LockedError{Until: until}
		}
		return LoginResult{}, ErrInvalidCredentials
	}
	if u.Disabled {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditLoginFailed, Outcome: store.OutcomeDenied, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: "account disabled"})
		return LoginResult{}, ErrAccountDisabled
	}
	if u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		if err := s.st.ResetLoginFailures(ctx, u.ID); err != nil {
			return LoginResult{}, err
		}
	}
	if rehash {
		if h, err := s.Hash(ctx, r.Password); err == nil {
			if err := s.st.SetPasswordHash(ctx, u.ID, h); err != nil {
				s.log.Warn("password rehash failed", "user_id", u.ID, "error", err)
			}
		}
	}
	if u.TOTPEnabled {
		id, digest := newSessionID()
		exp := now.Add(s.cfg.ChallengeTTL)
		if err := s.st.CreateSession(ctx, store.Session{Hash: digest, UserID: u.ID, MFAPending: true, CreatedAt: now, ExpiresAt: exp, IP: ip, UserAgent: ua}); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{User: u, MFARequired: true, Challenge: id, ExpiresAt: exp}, nil
	}
	return s.startSession(ctx, u, ip, ua, "password")
}

func (s *Service) startSession(ctx context.Context, u store.User, ip, ua, how string) (LoginResult, error) {
	now := s.now()
	id, digest := newSessionID()
	exp := now.Add(s.cfg.SessionTTL)
	if err := s.st.CreateSession(ctx, store.Session{Hash: digest, UserID: u.ID, CreatedAt: now, ExpiresAt: exp, IP: ip, UserAgent: ua}); err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditLogin, SubjectID: u.ID, ActorID: u.ID, Login: u.Login, IP: ip, Detail: how})
	s.log.Info("user logged in", "user_id", u.ID, "login", u.Login, "method", how)
	return LoginResult{User: u, Session: id, ExpiresAt: exp}, nil
}

// LoginTOTP completes a login that needs a second factor: code is the
// current TOTP code or an unused recovery code. The challenge is consumed
// by a success; a wrong code leaves it usable until it expires. Errors:
// ErrUnauthenticated (unknown or expired challenge), ErrInvalidTOTP,
// ErrTOTPReplayed.
func (s *Service) LoginTOTP(ctx context.Context, challenge, code, ip, ua string) (LoginResult, error) {
	ip, ua = clip(ip, store.MaxIPLen), clip(ua, store.MaxUserAgentLen)
	if len(challenge) != encodedLen {
		return LoginResult{}, ErrUnauthenticated
	}
	digest := Digest(challenge)
	se, err := s.st.SessionByHash(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return LoginResult{}, ErrUnauthenticated
	}
	if err != nil {
		return LoginResult{}, err
	}
	if !se.MFAPending || !se.RevokedAt.IsZero() || !s.now().Before(se.ExpiresAt) {
		return LoginResult{}, ErrUnauthenticated
	}
	u, err := s.st.UserByID(ctx, se.UserID)
	if err != nil {
		return LoginResult{}, err
	}
	how, err := s.checkSecondFactor(ctx, u, code, ip)
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.st.RevokeSession(ctx, digest); err != nil {
		return LoginResult{}, err
	}
	return s.startSession(ctx, u, ip, ua, how)
}

// checkSecondFactor accepts a TOTP code (not replayed) or a recovery code.
func (s *Service) checkSecondFactor(ctx context.Context, u store.User, code, ip string) (string, error) {
	st, err := s.st.TOTPState(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if !st.Enabled {
		return "", ErrTOTPNotEnabled
	}
	code = strings.TrimSpace(code)
	if rc, ok := normalizeRecoveryCode(code); ok {
		used, err := s.st.UseRecoveryCode(ctx, u.ID, Digest(rc))
		if err != nil {
			return "", err
		}
		if !used {
			s.audit(ctx, store.AuditEvent{Kind: store.AuditTOTPFailed, Outcome: store.OutcomeFailure, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: "unknown or used recovery code"})
			return "", ErrInvalidTOTP
		}
		s.audit(ctx, store.AuditEvent{Kind: store.AuditRecoveryUsed, SubjectID: u.ID, ActorID: u.ID, Login: u.Login, IP: ip, Detail: fmt.Sprintf("%d recovery codes left", st.RecoveryCodesLeft-1)})
		return "recovery_code", nil
	}
	step, ok := matchTOTP(st.Secret, code, s.now())
	if !ok {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditTOTPFailed, Outcome: store.OutcomeFailure, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: "wrong or expired code"})
		return "", ErrInvalidTOTP
	}
	advanced, err := s.st.AdvanceTOTPStep(ctx, u.ID, step)
	if err != nil {
		return "", err
	}
	if !advanced {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditTOTPFailed, Outcome: store.OutcomeDenied, SubjectID: u.ID, Login: u.Login, IP: ip, Detail: "replayed code"})
		return "", ErrTOTPReplayed
	}
	return "password+totp", nil
}

// Logout revokes a session. An unknown session is not an error.
func (s *Service) Logout(ctx context.Context, session, ip string) error {
	if len(session) != encodedLen {
		return nil
	}
	digest := Digest(session)
	se, err := s.st.SessionByHash(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.st.RevokeSession(ctx, digest); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditLogout, ActorID: se.UserID, SubjectID: se.UserID, IP: clip(ip, store.MaxIPLen)})
	return nil
}

// ResolveSession returns the user principal of a session cookie value.
// Errors: ErrUnauthenticated, ErrTokenExpired, ErrTokenRevoked,
// ErrAccountDisabled.
func (s *Service) ResolveSession(ctx context.Context, session string) (Principal, error) {
	if len(session) != encodedLen {
		return Principal{}, ErrUnauthenticated
	}
	se, err := s.st.SessionByHash(ctx, Digest(session))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	switch {
	case se.MFAPending:
		return Principal{}, ErrUnauthenticated
	case !se.RevokedAt.IsZero():
		return Principal{}, ErrTokenRevoked
	case !s.now().Before(se.ExpiresAt):
		return Principal{}, ErrTokenExpired
	}
	u, err := s.st.UserByID(ctx, se.UserID)
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrAccountDisabled
	}
	return Principal{Kind: PrincipalUser, UserID: u.ID, Login: u.Login, Roles: u.Roles, ExpiresAt: se.ExpiresAt}, nil
}

// ChangePassword replaces a password after checking the old one, and
// revokes every session of the user.
func (s *Service) ChangePassword(ctx context.Context, id store.UserID, oldPassword, newPassword string) error {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return err
	}
	ok, _, err := s.verify(ctx, u.PasswordHash, oldPassword)
	if err != nil && !errors.Is(err, errBadHash) {
		return err
	}
	if !ok {
		return ErrInvalidCredentials
	}
	return s.SetPassword(ctx, id, id, newPassword)
}

// SetPassword sets a password (admin tools, ChangePassword) and revokes
// every session of the user.
func (s *Service) SetPassword(ctx context.Context, actor, id store.UserID, password string) error {
	h, err := s.Hash(ctx, password)
	if err != nil {
		return err
	}
	if err := s.st.SetPasswordHash(ctx, id, h); err != nil {
		return err
	}
	if _, err := s.st.RevokeUserSessions(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditPasswordChanged, ActorID: actor, SubjectID: id})
	return nil
}

// BeginTOTP creates a new, not yet enabled TOTP secret for a user. Errors:
// store.ErrConflict when TOTP is already enabled.
func (s *Service) BeginTOTP(ctx context.Context, id store.UserID) (TOTPEnrollment, error) {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	e, err := newTOTPKey(s.cfg.Issuer, u.Login)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if err := s.st.SetTOTPSecret(ctx, id, e.Secret); err != nil {
		return TOTPEnrollment{}, err
	}
	return e, nil
}

// ConfirmTOTP enables TOTP once the user proves their app works with a
// current code, and returns the recovery codes (shown once).
func (s *Service) ConfirmTOTP(ctx context.Context, id store.UserID, code string) ([]string, error) {
	st, err := s.st.TOTPState(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Enabled {
		return nil, fmt.Errorf("auth: two-factor authentication is already enabled: %w", store.ErrConflict)
	}
	if st.Secret == "" {
		return nil, ErrTOTPNotEnabled
	}
	step, ok := matchTOTP(st.Secret, strings.TrimSpace(code), s.now())
	if !ok {
		return nil, ErrInvalidTOTP
	}
	codes, digests := newRecoveryCodes(RecoveryCodeCount)
	if err := s.st.EnableTOTP(ctx, id, step, digests); err != nil {
		return nil, err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditTOTPEnabled, ActorID: id, SubjectID: id})
	return codes, nil
}

// DisableTOTP turns TOTP off after checking a current code or recovery code.
func (s *Service) DisableTOTP(ctx context.Context, id store.UserID, code string) error {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.checkSecondFactor(ctx, u, code, ""); err != nil {
		return err
	}
	if err := s.st.DisableTOTP(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditTOTPDisabled, ActorID: id, SubjectID: id})
	return nil
}

// GrantRole gives a role (actor must be an admin unless actor is 0, the
// system, as in beaconctl).
func (s *Service) GrantRole(ctx context.Context, actor, id store.UserID, r store.Role) error {
	if err := s.requireAdmin(ctx, actor, "grant role"); err != nil {
		return err
	}
	if err := s.st.GrantRole(ctx, id, r); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditRoleGranted, ActorID: actor, SubjectID: id, Detail: string(r)})
	return nil
}

// RevokeRole takes a role away (same rule as GrantRole).
func (s *Service) RevokeRole(ctx context.Context, actor, id store.UserID, r store.Role) error {
	if err := s.requireAdmin(ctx, actor, "revoke role"); err != nil {
		return err
	}
	if err := s.st.RevokeRole(ctx, id, r); err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditRoleRevoked, ActorID: actor, SubjectID: id, Detail: string(r)})
	return nil
}

func (s *Service) requireAdmin(ctx context.Context, actor store.UserID, what string) error {
	if actor == 0 {
		return nil
	}
	u, err := s.st.UserByID(ctx, actor)
	if err != nil {
		return err
	}
	if !u.HasRole(store.RoleAdmin) || u.Disabled {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditAccessDenied, Outcome: store.OutcomeDenied, ActorID: actor, Detail: what + " requires admin"})
		return fmt.Errorf("%w: %s requires the admin role", ErrForbidden, what)
	}
	return nil
}

// CreateChannel creates the channel of a streamer (granting the streamer
// role) and its first stream key, returned once.
func (s *Service) CreateChannel(ctx context.Context, actor store.UserID, c store.NewChannel) (store.Channel, string, error) {
	ch, err := s.st.CreateChannel(ctx, c)
	if err != nil {
		return store.Channel{}, "", err
	}
	if err := s.st.GrantRole(ctx, c.OwnerID, store.RoleStreamer); err != nil {
		return store.Channel{}, "", err
	}
	key, digest := NewStreamKey()
	if _, err := s.st.RotateStreamKey(ctx, ch.ID, digest); err != nil {
		return store.Channel{}, "", err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditChannelCreated, ActorID: actor, SubjectID: c.OwnerID, ChannelID: ch.ID})
	s.log.Info("channel created", "channel_id", ch.ID, "owner_id", ch.OwnerID)
	return ch, key, nil
}

// RotateStreamKey revokes a channel's keys and returns a new one (once).
func (s *Service) RotateStreamKey(ctx context.Context, actor store.UserID, ch store.ChannelID) (string, error) {
	key, digest := NewStreamKey()
	if _, err := s.st.RotateStreamKey(ctx, ch, digest); err != nil {
		return "", err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditKeyRotated, ActorID: actor, ChannelID: ch})
	s.log.Info("stream key rotated", "channel_id", ch)
	return key, nil
}

// RevokeStreamKeys revokes a channel's keys (the channel cannot go live
// until a rotation).
func (s *Service) RevokeStreamKeys(ctx context.Context, actor store.UserID, ch store.ChannelID) error {
	n, err := s.st.RevokeStreamKeys(ctx, ch)
	if err != nil {
		return err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditKeyRevoked, ActorID: actor, ChannelID: ch, Detail: fmt.Sprintf("%d keys", n)})
	return nil
}

// VerifyStreamKey is the ingest hot path: it hashes the presented key, looks
// the digest up on its unique index, and compares in constant time. It
// returns the key record (channel and owner) or ErrInvalidStreamKey;
// rejections are audited with the caller's ip.
func (s *Service) VerifyStreamKey(ctx context.Context, key, ip string) (store.StreamKey, error) {
	k, err := VerifyStreamKey(ctx, s.st, key)
	if err != nil && errors.Is(err, ErrInvalidStreamKey) {
		s.audit(ctx, store.AuditEvent{Kind: store.AuditKeyRejected, Outcome: store.OutcomeDenied, ChannelID: k.ChannelID, IP: clip(ip, store.MaxIPLen), Detail: strings.TrimPrefix(err.Error(), ErrInvalidStreamKey.Error()+": ")})
	}
	return k, err
}

// VerifyStreamKey checks a stream key against st without auditing (for
// callers that hold only the StreamKeys slice of the store). On failure the
// returned record still names the channel when the key was known.
func VerifyStreamKey(ctx context.Context, st store.StreamKeys, key string) (store.StreamKey, error) {
	if !wellFormed(key, StreamKeyPrefix) {
		return store.StreamKey{}, fmt.Errorf("%w: malformed", ErrInvalidStreamKey)
	}
	digest := Digest(key)
	k, err := st.StreamKeyByHash(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return store.StreamKey{}, fmt.Errorf("%w: unknown", ErrInvalidStreamKey)
	}
	if err != nil {
		return store.StreamKey{}, err
	}
	if !equalDigest(k.Hash, digest) {
		return store.StreamKey{}, fmt.Errorf("%w: unknown", ErrInvalidStreamKey)
	}
	if !k.RevokedAt.IsZero() {
		return store.StreamKey{ChannelID: k.ChannelID}, fmt.Errorf("%w: revoked", ErrInvalidStreamKey)
	}
	if k.OwnerDisabled {
		return store.StreamKey{ChannelID: k.ChannelID}, fmt.Errorf("%w: owner disabled", ErrInvalidStreamKey)
	}
	return k, nil
}

// ClientCredentials are a new API client's credentials; the secret is shown once.
type ClientCredentials struct {
	ClientID string
	Secret   string
	Scopes   []string
}

// CreateAPIClient creates an OAuth2 client (actor must be an admin unless 0).
func (s *Service) CreateAPIClient(ctx context.Context, actor store.UserID, name string, scopes []string) (ClientCredentials, error) {
	if err := s.requireAdmin(ctx, actor, "create api client"); err != nil {
		return ClientCredentials{}, err
	}
	id, secret, digest := NewClientCredentials()
	c, err := s.st.CreateAPIClient(ctx, store.NewAPIClient{ClientID: id, Name: name, SecretHash: digest, Scopes: scopes, OwnerID: actor})
	if err != nil {
		return ClientCredentials{}, err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditClientCreated, ActorID: actor, ClientID: id, Detail: "scopes: " + strings.Join(c.Scopes, " ")})
	s.log.Info("api client created", "client_id", id, "scopes", c.Scopes)
	return ClientCredentials{ClientID: id, Secret: secret, Scopes: c.Scopes}, nil
}

// RevokeAPIClient revokes a client and all its tokens.
func (s *Service) RevokeAPIClient(ctx context.Context, actor store.UserID, clientID string) error {
	if err := s.requireAdmin(ctx, actor, "revoke api client"); err != nil {
		return err
	}
	if err := s.st.RevokeAPIClient(ctx, clientID); err != nil {
		return err
	}
	s.cacheMu.Lock()
	for k, v := range s.cache {
		if v.p.ClientID == clientID {
			delete(s.cache, k)
		}
	}
	s.cacheMu.Unlock()
	s.audit(ctx, store.AuditEvent{Kind: store.AuditClientRevoked, ActorID: actor, ClientID: clientID})
	return nil
}

// Token is an issued access token (the OAuth2 token response).
type Token struct {
	AccessToken string
	TokenType   string // "Bearer"
	ExpiresAt   time.Time
	Scopes      []string
}

// IssueToken implements the OAuth2 client-credentials grant: it checks the
// client secret in constant time and issues a bearer token with the
// requested scopes (all of the client's when none is requested). Errors:
// ErrInvalidClient, ErrInvalidScope.
func (s *Service) IssueToken(ctx context.Context, clientID, secret string, scopes []string, ip string) (Token, error) {
	ip = clip(ip, store.MaxIPLen)
	deny := func(err error, why string) (Token, error) {
		cid := ""
		if store.ValidateClientID(clientID) == nil {
			cid = clientID
		}
		s.audit(ctx, store.AuditEvent{Kind: store.AuditTokenDenied, Outcome: store.OutcomeDenied, ClientID: cid, IP: ip, Detail: why})
		return Token{}, err
	}
	if store.ValidateClientID(clientID) != nil || !wellFormed(secret, ClientSecretPrefix) {
		return deny(ErrInvalidClient, "malformed credentials")
	}
	c, err := s.st.APIClientByID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return deny(ErrInvalidClient, "unknown client")
	}
	if err != nil {
		return Token{}, err
	}
	if !equalDigest(c.SecretHash, Digest(secret)) {
		return deny(ErrInvalidClient, "wrong secret")
	}
	if !c.RevokedAt.IsZero() {
		return deny(ErrInvalidClient, "client revoked")
	}
	granted := c.Scopes
	if len(scopes) > 0 {
		req, err := store.NormalizeScopes(scopes)
		if err != nil {
			return deny(fmt.Errorf("%w: %v", ErrInvalidScope, err), "malformed scope")
		}
		for _, sc := range req {
			found := false
			for _, have := range c.Scopes {
				found = found || have == sc
			}
			if !found {
				return deny(fmt.Errorf("%w: %q", ErrInvalidScope, sc), "scope not allowed: "+sc)
			}
		}
		granted = req
	}
	tok, digest := newAccessToken()
	now := s.now()
	exp := now.Add(s.cfg.TokenTTL)
	if err := s.st.CreateAccessToken(ctx, store.AccessToken{Hash: digest, ClientID: clientID, Scopes: granted, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return Token{}, err
	}
	s.audit(ctx, store.AuditEvent{Kind: store.AuditTokenIssued, ClientID: clientID, IP: ip, Detail: "scopes: " + strings.Join(granted, " ")})
	return Token{AccessToken: tok, TokenType: "Bearer", ExpiresAt: exp, Scopes: granted}, nil
}

// VerifyToken resolves a bearer token to a client principal and checks that
// it holds every required scope. Errors: ErrUnauthenticated (unknown or
// malformed), ErrTokenExpired, ErrTokenRevoked, ErrInsufficientScope. It
// does not audit (the API layer audits the denial it returns).
func (s *Service) VerifyToken(ctx context.Context, token string, required ...string) (Principal, error) {
	if !wellFormed(token, AccessTokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	digest := Digest(token)
	var key [32]byte
	copy(key[:], digest)
	now := s.now()
	if s.cfg.TokenCacheTTL > 0 {
		s.cacheMu.RLock()
		c, ok := s.cache[key]
		s.cacheMu.RUnlock()
		if ok && now.Before(c.until) {
			if !now.Before(c.p.ExpiresAt) {
				return Principal{}, ErrTokenExpired
			}
			return c.p, c.p.RequireScopes(required...)
		}
	}
	t, err := s.st.AccessTokenByHash(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	switch {
	case !equalDigest(t.Hash, digest):
		return Principal{}, ErrUnauthenticated
	case !t.RevokedAt.IsZero() || t.ClientRevoked:
		return Principal{}, ErrTokenRevoked
	case !now.Before(t.ExpiresAt):
		return Principal{}, ErrTokenExpired
	}
	p := Principal{Kind: PrincipalClient, ClientID: t.ClientID, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt}
	if s.cfg.TokenCacheTTL > 0 {
		s.cacheMu.Lock()
		if len(s.cache) >= s.cfg.TokenCacheSize {
			clear(s.cache)
		}
		s.cache[key] = cachedToken{p: p, until: now.Add(s.cfg.TokenCacheTTL)}
		s.cacheMu.Unlock()
	}
	return p, p.RequireScopes(required...)
}

// RevokeToken revokes an access token (OAuth2 revocation). An unknown token
// is not an error.
func (s *Service) RevokeToken(ctx context.Context, token string) error {
	if !wellFormed(token, AccessTokenPrefix) {
		return nil
	}
	digest := Digest(token)
	var key [32]byte
	copy(key[:], digest)
	s.cacheMu.Lock()
	delete(s.cache, key)
	s.cacheMu.Unlock()
	err := s.st.RevokeAccessToken(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Audit appends an event for a caller outside this package (the API
// layer's denials, moderation decisions).
func (s *Service) Audit(ctx context.Context, e store.AuditEvent) {
	s.audit(ctx, e)
}

// IngestKeys adapts a Service to the ingest stage's key verifier: it returns
// the channel id in decimal, as events carry it ("42"). Rejections are
// audited (without an address: ingest's interface does not pass one).
type IngestKeys struct{ Service *Service }

// VerifyStreamKey implements ingest's keyVerifier.
func (k IngestKeys) VerifyStreamKey(ctx context.Context, key string) (string, error) {
	rec, err := k.Service.VerifyStreamKey(ctx, key, "")
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(int64(rec.ChannelID), 10), nil
}
