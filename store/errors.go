package store

import (
	"errors"
	"fmt"
)

// Errors shared by every backend. Check them with errors.Is.
var (
	// ErrNotFound is returned when the requested record does not exist, or
	// when a referenced record (user, channel, client) does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate is returned when a unique value (login, a streamer's
	// channel, a client id, a key hash) is already taken.
	ErrDuplicate = errors.New("store: already exists")
	// ErrInvalid is returned for input that breaks the contract: a bad login,
	// invalid UTF-8, an overlong field, a bad tag. The error is a
	// *ValidationError that names the field.
	ErrInvalid = errors.New("store: invalid input")
	// ErrConflict is returned when an operation does not apply to the
	// record's current state (stopping a watch session that already stopped).
	ErrConflict = errors.New("store: conflicting state")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store: closed")
)

// ValidationError says which field was rejected and why. It matches ErrInvalid
// with errors.Is.
type ValidationError struct {
	// Field is the snake_case name of the rejected field ("login", "tags").
	Field string
	// Reason is a human-readable explanation, safe to show to the user: it
	// never echoes secrets.
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("store: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
