package store

import (
	"fmt"
	"time"
)

// UserID identifies a user. Ids are positive; 0 means "none".
type UserID int64

// ChannelID identifies a channel. Ids are positive; 0 means "none".
type ChannelID int64

// CategoryID identifies a category of the seed catalogue. 0 means "none".
type CategoryID int64

// Role is a permission set a user may hold; a user can hold several.
type Role string

// The roles.
const (
	// RoleViewer watches, follows and chats. Every user holds it.
	RoleViewer Role = "viewer"
	// RoleStreamer owns a channel and may go live.
	RoleStreamer Role = "streamer"
	// RoleModerator takes trust & safety decisions.
	RoleModerator Role = "moderator"
	// RoleAdmin grants roles and creates API clients.
	RoleAdmin Role = "admin"
)

// allRoles lists every role in a stable order (never modified).
var allRoles = [...]Role{RoleViewer, RoleStreamer, RoleModerator, RoleAdmin}

// AllRoles returns every role, in a stable order.
func AllRoles() []Role { return append([]Role(nil), allRoles[:]...) }

// ParseRole returns the role named s, or a *ValidationError.
func ParseRole(s string) (Role, error) {
	for _, r := range allRoles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", invalid("role", "unknown role %q (want viewer, streamer, moderator or admin)", truncateForError(s))
}

// NewUser is the input of Users.CreateUser.
type NewUser struct {
	// Login is normalized with NormalizeLogin; it is unique among users.
	Login string
	// DisplayName is free text (at most MaxDisplayNameLen characters). It
	// defaults to the login.
	DisplayName string
	// Email is optional (at most MaxEmailLen bytes).
	Email string
	// PasswordHash is an argon2id PHC string from auth.HashPassword. It may be
	// empty for an account that cannot log in with a password.
	PasswordHash string
	// Roles are granted at creation; viewer is always added.
	Roles []Role
}

// User is an account.
type User struct {
	ID           UserID
	Login        string
	DisplayName  string
	Email        string
	PasswordHash string
	CreatedAt    time.Time
	Disabled     bool
	// Roles held, sorted in AllRoles order.
	Roles []Role
	// FailedLogins counts consecutive failed password attempts.
	FailedLogins int
	// LockedUntil is when a brute-force lockout ends (zero: not locked).
	LockedUntil time.Time
	// TOTPEnabled tells whether the login needs a second factor.
	TOTPEnabled bool
}

// HasRole reports whether u holds r.
func (u User) HasRole(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// UserUpdate changes a user's profile; nil fields are left alone.
type UserUpdate struct {
	DisplayName *string
	Email       *string
}

// TOTPState is a user's two-factor state.
type TOTPState struct {
	// Secret is the base32 shared secret (empty when never set up).
	Secret string
	// Enabled tells whether logins need a code.
	Enabled bool
	// LastStep is the last accepted RFC 6238 time step; a code of a step at
	// or before it is a replay.
	LastStep int64
	// RecoveryCodesLeft counts unused recovery codes.
	RecoveryCodesLeft int
}

// Category is a game or format ("Just Chatting", "Music").
type Category struct {
	// ID is fixed by the seed catalogue.
	ID CategoryID `yaml:"id"`
	// Slug is the URL-safe name ("just-chatting").
	Slug string `yaml:"slug"`
	// Name is the display name.
	Name string `yaml:"name"`
	// Kind is "game" or "format".
	Kind string `yaml:"kind"`
}

// NewChannel is the input of Channels.CreateChannel.
type NewChannel struct {
	// OwnerID is the streamer; a user owns at most one channel.
	OwnerID UserID
	// Title is free text (at most MaxTitleLen characters).
	Title string
	// CategoryID is optional (0: none) and must exist.
	CategoryID CategoryID
	// Language is a lower-case ISO 639-1 code ("en") or "other"; it defaults
	// to "en".
	Language string
	// Tags are validated with NormalizeTags.
	Tags []string
	// Mature marks content for mature audiences.
	Mature bool
}

// Channel is a streamer's channel.
type Channel struct {
	ID      ChannelID
	OwnerID UserID
	// Name is the owner's login; it names the channel in URLs.
	Name       string
	Title      string
	CategoryID CategoryID
	Language   string
	Tags       []string
	Mature     bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ChannelUpdate changes a channel; nil fields are left alone.
type ChannelUpdate struct {
	Title      *string
	CategoryID *CategoryID
	Language   *string
	Tags       *[]string
	Mature     *bool
}

// Page bounds a listing. Limit defaults to 100 and is capped at 1000.
type Page struct {
	// AfterID returns records whose id is greater (keyset pagination).
	AfterID int64
	Limit   int
}

// limit returns the effective limit.
func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return 100
	case p.Limit > 1000:
		return 1000
	}
	return p.Limit
}

// EffectiveLimit returns the limit a backend applies: 100 by default, at most 1000.
func (p Page) EffectiveLimit() int { return p.limit() }

// StreamKey is a stored stream key: only its SHA-256 digest is kept.
type StreamKey struct {
	ID        int64
	ChannelID ChannelID
	// Hash is the SHA-256 digest of the key (32 bytes).
	Hash      []byte
	CreatedAt time.Time
	// RevokedAt is set once the key was rotated away or revoked.
	RevokedAt time.Time
	// OwnerID and OwnerDisabled describe the channel's owner so that the
	// ingest hot path needs one query.
	OwnerID       UserID
	OwnerDisabled bool
}

// Follow says that a user follows a channel.
type Follow struct {
	UserID    UserID
	ChannelID ChannelID
	CreatedAt time.Time
}

// WatchSession is a span of a user watching a channel, for the recommender.
type WatchSession struct {
	ID        int64
	UserID    UserID
	ChannelID ChannelID
	Start     time.Time
	// Stop is zero while the session is open.
	Stop time.Time
}

// WatchFilter selects watch sessions. Zero fields do not filter.
type WatchFilter struct {
	UserID    UserID
	ChannelID ChannelID
	// Since keeps sessions that started at or after it.
	Since time.Time
	Page  Page
}

// Scope names a permission of an API client ("channels:read").
type Scope = string

// NewAPIClient is the input of APIClients.CreateAPIClient.
type NewAPIClient struct {
	// ClientID is public and unique (auth.NewClientCredentials makes one).
	ClientID string
	// Name is free text describing the client.
	Name string
	// SecretHash is the SHA-256 digest of the client secret.
	SecretHash []byte
	// Scopes the client may request; each matches ValidateScope.
	Scopes []Scope
	// OwnerID is the admin who created it (optional).
	OwnerID UserID
}

// APIClient is an OAuth2 client of the client-credentials grant.
type APIClient struct {
	ClientID   string
	Name       string
	SecretHash []byte
	Scopes     []Scope
	OwnerID    UserID
	CreatedAt  time.Time
	RevokedAt  time.Time
}

// AccessToken is an issued bearer token: only its SHA-256 digest is kept.
type AccessToken struct {
	Hash     []byte
	ClientID string
	Scopes   []Scope
	// CreatedAt defaults to the store's clock.
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time
	// ClientRevoked is set on read when the issuing client was revoked.
	ClientRevoked bool
}

// Session is a web session (an opaque cookie id, stored hashed).
type Session struct {
	Hash   []byte
	UserID UserID
	// MFAPending marks a half-done login that still needs a TOTP code; it
	// authenticates nothing else.
	MFAPending bool
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time
	// IP and UserAgent are informational (at most MaxUserAgentLen characters).
	IP        string
	UserAgent string
}

// AuditKind names a security event.
type AuditKind string

// Audit event kinds.
const (
	AuditSignUp          AuditKind = "signup"
	AuditLogin           AuditKind = "login"
	AuditLoginFailed     AuditKind = "login_failed"
	AuditLoginLocked     AuditKind = "login_locked"
	AuditLogout          AuditKind = "logout"
	AuditTOTPEnabled     AuditKind = "totp_enabled"
	AuditTOTPDisabled    AuditKind = "totp_disabled"
	AuditTOTPFailed      AuditKind = "totp_failed"
	AuditRecoveryUsed    AuditKind = "recovery_code_used"
	AuditChannelCreated  AuditKind = "channel_created"
	AuditKeyRotated      AuditKind = "stream_key_rotated"
	AuditKeyRevoked      AuditKind = "stream_key_revoked"
	AuditKeyRejected     AuditKind = "stream_key_rejected"
	AuditRoleGranted     AuditKind = "role_granted"
	AuditRoleRevoked     AuditKind = "role_revoked"
	AuditClientCreated   AuditKind = "api_client_created"
	AuditClientRevoked   AuditKind = "api_client_revoked"
	AuditTokenIssued     AuditKind = "token_issued"
	AuditTokenDenied     AuditKind = "token_denied"
	AuditAccessDenied    AuditKind = "access_denied"
	AuditModeration      AuditKind = "moderation_decision"
	AuditPasswordChanged AuditKind = "password_changed"
)

// Outcome of an audited event.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

// AuditEvent is one append-only record of the audit log. It never holds a
// secret.
type AuditEvent struct {
	// ID and Time are set by the store (Time if zero).
	ID   int64
	Time time.Time
	Kind AuditKind
	// Outcome is OutcomeSuccess, OutcomeFailure or OutcomeDenied.
	Outcome string
	// ActorID did it (0: anonymous or system); SubjectID was affected.
	ActorID   UserID
	SubjectID UserID
	// Login is the normalized login an attempt named (empty when invalid).
	Login     string
	ChannelID ChannelID
	ClientID  string
	IP        string
	// Detail is a short free-text explanation (at most MaxAuditDetailLen).
	Detail string
}

// AuditFilter selects audit events, newest first. Zero fields do not filter.
type AuditFilter struct {
	Kind AuditKind
	// UserID matches the actor or the subject.
	UserID UserID
	Login  string
	Since  time.Time
	// BeforeID pages backwards (events with a smaller id).
	BeforeID int64
	Limit    int
}

// String returns a short description for logs (no secrets).
func (e AuditEvent) String() string {
	return fmt.Sprintf("%s %s actor=%d subject=%d login=%q", e.Kind, e.Outcome, e.ActorID, e.SubjectID, e.Login)
}
