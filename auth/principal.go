package auth

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/beaconlive/beacon/store"
)

// PrincipalKind says what authenticated.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalUser   PrincipalKind = "user"
	PrincipalClient PrincipalKind = "client"
)

// Principal is who a request acts as, resolved from a session cookie or a
// bearer token.
type Principal struct {
	Kind PrincipalKind
	// UserID, Login and Roles are set for a user.
	UserID store.UserID
	Login  string
	Roles  []store.Role
	// ClientID and Scopes are set for an API client.
	ClientID string
	Scopes   []string
	// ExpiresAt is when the credential expires.
	ExpiresAt time.Time
}

// HasRole reports whether p is a user holding r.
func (p Principal) HasRole(r store.Role) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether p is a client holding s.
func (p Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// RequireRole returns nil if p holds one of roles, else an error matching
// ErrForbidden that names them.
func (p Principal) RequireRole(roles ...store.Role) error {
	for _, r := range roles {
		if p.HasRole(r) {
			return nil
		}
	}
	return fmt.Errorf("%w: requires role %v", ErrForbidden, roles)
}

// RequireScopes returns nil if p holds every scope, else an error matching
// ErrInsufficientScope that names the missing one.
func (p Principal) RequireScopes(scopes ...string) error {
	for _, s := range scopes {
		if !p.HasScope(s) {
			return fmt.Errorf("%w: missing scope %q", ErrInsufficientScope, s)
		}
	}
	return nil
}

// SessionCookieName is the name of the web session cookie.
const SessionCookieName = "beacon_session"

// SessionCookie returns the cookie carrying a session id: Secure, HttpOnly,
// SameSite=Lax, Path=/. An empty value with a past expiry clears it.
func SessionCookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     SessionCookieName,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}
