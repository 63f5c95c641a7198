package store

import (
	"context"
	"time"
)

// Users holds accounts.
type Users interface {
	// CreateUser validates and normalizes u and stores it. A login equal to
	// an existing one after normalization fails with ErrDuplicate.
	CreateUser(ctx context.Context, u NewUser) (User, error)
	// UserByID returns a user or ErrNotFound.
	UserByID(ctx context.Context, id UserID) (User, error)
	// UserByLogin normalizes login and returns the user or ErrNotFound (an
	// invalid login is a *ValidationError).
	UserByLogin(ctx context.Context, login string) (User, error)
	// UpdateUser changes the profile fields that are set.
	UpdateUser(ctx context.Context, id UserID, u UserUpdate) (User, error)
	// SetPasswordHash replaces the password hash.
	SetPasswordHash(ctx context.Context, id UserID, hash string) error
	// SetDisabled disables or enables an account.
	SetDisabled(ctx context.Context, id UserID, disabled bool) error
	// RecordLoginFailure atomically increments the consecutive failure
	// counter and returns its new value.
	RecordLoginFailure(ctx context.Context, id UserID) (int, error)
	// SetLockedUntil sets the end of a lockout (zero clears it).
	SetLockedUntil(ctx context.Context, id UserID, until time.Time) error
	// ResetLoginFailures clears the failure counter and any lockout.
	ResetLoginFailures(ctx context.Context, id UserID) error
}

// Roles holds the roles users hold.
type Roles interface {
	// GrantRole gives id the role r; granting a held role is a no-op.
	GrantRole(ctx context.Context, id UserID, r Role) error
	// RevokeRole takes r away; revoking a role not held is a no-op.
	RevokeRole(ctx context.Context, id UserID, r Role) error
	// UserRoles lists the roles id holds, in AllRoles order.
	UserRoles(ctx context.Context, id UserID) ([]Role, error)
}

// TwoFactor holds TOTP state and recovery codes.
type TwoFactor interface {
	// SetTOTPSecret stores a new, not yet enabled secret (enrolment), and
	// resets the replay step. It fails with ErrConflict when TOTP is enabled.
	SetTOTPSecret(ctx context.Context, id UserID, secret string) error
	// EnableTOTP turns TOTP on, replaces the recovery codes by the given
	// SHA-256 digests, and records step as the last accepted step.
	EnableTOTP(ctx context.Context, id UserID, step int64, recoveryCodeHashes [][]byte) error
	// DisableTOTP turns TOTP off and forgets the secret and recovery codes.
	DisableTOTP(ctx context.Context, id UserID) error
	// TOTPState returns id's two-factor state.
	TOTPState(ctx context.Context, id UserID) (TOTPState, error)
	// AdvanceTOTPStep atomically records step as the last accepted one if it
	// is later than the stored one; false means a replay.
	AdvanceTOTPStep(ctx context.Context, id UserID, step int64) (bool, error)
	// UseRecoveryCode atomically consumes the recovery code with this
	// digest; false means unknown or already used.
	UseRecoveryCode(ctx context.Context, id UserID, hash []byte) (bool, error)
}

// Categories holds the category catalogue (seeded from store/seed at Open).
type Categories interface {
	// UpsertCategories inserts or updates categories by id.
	UpsertCategories(ctx context.Context, cs []Category) error
	// Categories lists every category by id.
	Categories(ctx context.Context) ([]Category, error)
	// CategoryByID returns a category or ErrNotFound.
	CategoryByID(ctx context.Context, id CategoryID) (Category, error)
}

// Channels holds channels, one per streamer.
type Channels interface {
	// CreateChannel validates and stores c. A second channel for the same
	// owner fails with ErrDuplicate; a missing owner or category with
	// ErrNotFound.
	CreateChannel(ctx context.Context, c NewChannel) (Channel, error)
	// ChannelByID returns a channel or ErrNotFound.
	ChannelByID(ctx context.Context, id ChannelID) (Channel, error)
	// ChannelByOwner returns the channel of a streamer or ErrNotFound.
	ChannelByOwner(ctx context.Context, owner UserID) (Channel, error)
	// ChannelByName returns the channel named by its owner's login.
	ChannelByName(ctx context.Context, name string) (Channel, error)
	// UpdateChannel changes the fields that are set.
	UpdateChannel(ctx context.Context, id ChannelID, u ChannelUpdate) (Channel, error)
	// ListChannels lists channels by id.
	ListChannels(ctx context.Context, p Page) ([]Channel, error)
}

// StreamKeys holds stream-key digests. The ingest hot path is
// StreamKeyByHash: one indexed lookup.
type StreamKeys interface {
	// RotateStreamKey revokes the channel's active keys and stores the new
	// digest, in one transaction.
	RotateStreamKey(ctx context.Context, ch ChannelID, hash []byte) (StreamKey, error)
	// RevokeStreamKeys revokes every active key of the channel and returns
	// how many it revoked.
	RevokeStreamKeys(ctx context.Context, ch ChannelID) (int, error)
	// StreamKeyByHash returns the key with this digest, revoked or not, or
	// ErrNotFound.
	StreamKeyByHash(ctx context.Context, hash []byte) (StreamKey, error)
}

// Follows holds who follows which channel.
type Follows interface {
	// Follow is idempotent; a missing user or channel is ErrNotFound.
	Follow(ctx context.Context, u UserID, ch ChannelID) error
	// Unfollow is idempotent.
	Unfollow(ctx context.Context, u UserID, ch ChannelID) error
	// FollowsOf lists the channels u follows, by channel id.
	FollowsOf(ctx context.Context, u UserID, p Page) ([]Follow, error)
	// FollowersOf lists the followers of ch, by user id.
	FollowersOf(ctx context.Context, ch ChannelID, p Page) ([]Follow, error)
	// FollowerCount counts the followers of ch.
	FollowerCount(ctx context.Context, ch ChannelID) (int64, error)
}

// WatchSessions holds viewing history for the recommender.
type WatchSessions interface {
	// StartWatch opens a session and returns it with its id.
	StartWatch(ctx context.Context, u UserID, ch ChannelID, start time.Time) (WatchSession, error)
	// StopWatch closes a session; stop must not be before its start
	// (ErrInvalid) and a closed session cannot be closed again (ErrConflict).
	StopWatch(ctx context.Context, id int64, stop time.Time) error
	// WatchSessions lists sessions by id.
	WatchSessions(ctx context.Context, f WatchFilter) ([]WatchSession, error)
}

// APIClients holds OAuth2 clients.
type APIClients interface {
	// CreateAPIClient stores a client; a taken client id is ErrDuplicate.
	CreateAPIClient(ctx context.Context, c NewAPIClient) (APIClient, error)
	// APIClientByID returns a client (revoked or not) or ErrNotFound.
	APIClientByID(ctx context.Context, clientID string) (APIClient, error)
	// RevokeAPIClient revokes a client and every token it holds.
	RevokeAPIClient(ctx context.Context, clientID string) error
	// ListAPIClients lists every client by client id.
	ListAPIClients(ctx context.Context) ([]APIClient, error)
}

// Tokens holds access-token digests.
type Tokens interface {
	// CreateAccessToken stores t; its client must exist.
	CreateAccessToken(ctx context.Context, t AccessToken) error
	// AccessTokenByHash returns the token with this digest (expired or
	// revoked included, so the caller can say why it fails) or ErrNotFound.
	AccessTokenByHash(ctx context.Context, hash []byte) (AccessToken, error)
	// RevokeAccessToken revokes one token.
	RevokeAccessToken(ctx context.Context, hash []byte) error
	// DeleteExpiredTokens removes tokens that expired before t.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
}

// Sessions holds web sessions.
type Sessions interface {
	// CreateSession stores s; its user must exist.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session with this digest or ErrNotFound.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)
	// RevokeSession revokes one session.
	RevokeSession(ctx context.Context, hash []byte) error
	// RevokeUserSessions revokes every session of a user.
	RevokeUserSessions(ctx context.Context, u UserID) (int, error)
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)
}

// Audit is the append-only security log: it has no update or delete, and the
// backends refuse UPDATE and DELETE on its table.
type Audit interface {
	// AppendAudit stores e and returns it with its id (and time, if zero).
	AppendAudit(ctx context.Context, e AuditEvent) (AuditEvent, error)
	// AuditEvents lists events, newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Store is everything a backend provides.
type Store interface {
	Users
	Roles
	TwoFactor
	Categories
	Channels
	StreamKeys
	Follows
	WatchSessions
	APIClients
	Tokens
	Sessions
	Audit
	Flags
	// Ping reports whether the database is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases the database. Calls after Close fail with ErrClosed.
	Close() error
}
