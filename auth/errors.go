package auth

import (
	"errors"
	"fmt"
	"time"
)

// Errors. Each maps to one HTTP/gRPC status in the API layer, noted here.
var (
	// ErrInvalidCredentials: wrong login or password (401). It does not say
	// which, so logins cannot be enumerated.
	ErrInvalidCredentials = errors.New("auth: invalid login or password")
	// ErrAccountDisabled: the account is disabled (403).
	ErrAccountDisabled = errors.New("auth: account disabled")
	// ErrInvalidTOTP: a wrong or expired two-factor code (401).
	ErrInvalidTOTP = errors.New("auth: invalid or expired two-factor code")
	// ErrTOTPReplayed: a two-factor code that was already used (401).
	ErrTOTPReplayed = errors.New("auth: two-factor code already used; wait for the next one")
	// ErrTOTPNotEnabled: the operation needs TOTP enabled (409).
	ErrTOTPNotEnabled = errors.New("auth: two-factor authentication is not enabled")
	// ErrUnauthenticated: no, an unknown or a malformed token, session or
	// challenge (401).
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrTokenExpired: the access token or session expired (401).
	ErrTokenExpired = errors.New("auth: token expired")
	// ErrTokenRevoked: the access token, its client or the session was revoked (401).
	ErrTokenRevoked = errors.New("auth: token revoked")
	// ErrInsufficientScope: the token lacks a required scope (403).
	ErrInsufficientScope = errors.New("auth: token lacks a required scope")
	// ErrForbidden: the principal lacks a required role (403).
	ErrForbidden = errors.New("auth: permission denied")
	// ErrInvalidClient: unknown client, wrong secret or revoked client (401,
	// OAuth2 "invalid_client").
	ErrInvalidClient = errors.New("auth: invalid client credentials")
	// ErrInvalidScope: a requested scope the client may not have (400,
	// OAuth2 "invalid_scope").
	ErrInvalidScope = errors.New("auth: scope not allowed for this client")
	// ErrInvalidStreamKey: unknown, malformed or revoked stream key, or the
	// channel's owner is disabled (ingest refuses the publish).
	ErrInvalidStreamKey = errors.New("auth: invalid stream key")
	// ErrRateLimited: too many requests (429).
	ErrRateLimited = errors.New("auth: rate limited")
)

// LockedError is returned while an account is locked after repeated failed
// logins (429). It matches ErrLocked with errors.Is.
type LockedError struct {
	// Until is when the lockout ends.
	Until time.Time
}

// ErrLocked matches a *LockedError.
var ErrLocked = errors.New("auth: account temporarily locked after repeated failed logins")

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v; try again after %s", ErrLocked, e.Until.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
