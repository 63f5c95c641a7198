package search

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors shared by every backend. Check them with errors.Is.
var (
	// ErrNotFound is returned by Get for a channel that is not indexed.
	ErrNotFound = errors.New("search: channel not found")
	// ErrInvalidQuery is returned for a Query that breaks the limits (see
	// QueryError for the field and reason).
	ErrInvalidQuery = errors.New("search: invalid query")
	// ErrInvalidCursor is returned for a cursor that does not parse or belongs
	// to another query. It matches ErrInvalidQuery too.
	ErrInvalidCursor = fmt.Errorf("%w: invalid cursor", ErrInvalidQuery)
	// ErrTooDeep is returned for a page beyond MaxDepth results. It matches
	// ErrInvalidQuery too.
	ErrTooDeep = fmt.Errorf("%w: page too deep", ErrInvalidQuery)
	// ErrInvalidDocument is returned for a document or patch that breaks the
	// document limits (see DocumentError).
	ErrInvalidDocument = errors.New("search: invalid document")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("search: index closed")
	// ErrUnavailable wraps a backend failure that may pass (the backend is
	// down or overloaded): callers such as the indexer retry with backoff.
	ErrUnavailable = errors.New("search: backend unavailable")
)

// QueryError says which query field broke which limit. It matches
// ErrInvalidQuery (and ErrInvalidCursor or ErrTooDeep where those apply).
type QueryError struct {
	// Field is the Query field name in snake_case (text, limit, cursor, ...).
	Field string
	// Reason is a human-readable sentence fragment.
	Reason string
	kind   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("search: invalid query: %s: %s", e.Field, e.Reason)
}

// Unwrap returns the sentinel the error matches.
func (e *QueryError) Unwrap() error {
	if e.kind != nil {
		return e.kind
	}
	return ErrInvalidQuery
}

func queryErr(field, reason string) error { return &QueryError{Field: field, Reason: reason} }

func cursorErr(reason string) error {
	return &QueryError{Field: "cursor", Reason: reason, kind: ErrInvalidCursor}
}

// DocumentError says which document field broke which limit. It matches
// ErrInvalidDocument.
type DocumentError struct {
	ID, Field, Reason string
}

func (e *DocumentError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("search: invalid document: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("search: invalid document %q: %s: %s", e.ID, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidDocument.
func (e *DocumentError) Unwrap() error { return ErrInvalidDocument }

func docErr(id, field, reason string) error {
	return &DocumentError{ID: id, Field: field, Reason: reason}
}

// Index is the live search index. Implementations are safe for concurrent use.
//
// Writes are visible to Get at once. They are visible to Search within
// MaxVisibilityDelay, at once after Refresh.
type Index interface {
	// Upsert applies p to the channel id, creating the document (from the zero
	// Channel) when it does not exist. An empty patch is a no-op.
	Upsert(ctx context.Context, id string, p Patch) error
	// Delete removes a channel. Deleting a missing channel is not an error.
	Delete(ctx context.Context, id string) error
	// Get returns a channel's current document or ErrNotFound.
	Get(ctx context.Context, id string) (Channel, error)
	// Search runs a query. Invalid queries fail with an error matching
	// ErrInvalidQuery before reaching the backend.
	Search(ctx context.Context, q Query) (Result, error)
	// Bulk applies ops in order (several ops on one id apply in order). It
	// returns a *BulkError listing the ops that failed, if any.
	Bulk(ctx context.Context, ops []Op) error
	// Refresh makes every completed write visible to Search now.
	Refresh(ctx context.Context) error
	// Close releases the index; later calls fail with ErrClosed.
	Close() error
}

// MaxVisibilityDelay is the longest a completed write may take to show in
// Search without Refresh.
const MaxVisibilityDelay = time.Second

// BulkError lists the failed operations of a Bulk call.
type BulkError struct {
	// Failed maps op index to its error.
	Failed map[int]error
}

func (e *BulkError) Error() string {
	for i, err := range e.Failed {
		return fmt.Sprintf("search: bulk: %d of the ops failed (op %d: %v)", len(e.Failed), i, err)
	}
	return "search: bulk: failed"
}

// Unwrap returns the ops' errors, so errors.Is finds ErrUnavailable or
// ErrInvalidDocument among them.
func (e *BulkError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}
