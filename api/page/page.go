// Package page holds the API's pagination conventions: page sizes and opaque page tokens.
//
// A list call takes `page_size` (0 means DefaultSize, at most MaxSize) and
// `page_token` (empty for the first page), and answers `next_page_token`
// (empty on the last page). A token is opaque to callers: base64url of a
// versioned JSON cursor, authenticated with an HMAC so that a forged or
// edited token is refused instead of reaching a backend.
package page

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Sizes.
const (
	DefaultSize = 20
	MaxSize     = 100
	// MaxTokenLen bounds an incoming token before it is decoded.
	MaxTokenLen = 1024
)

// ErrInvalidToken is returned for a token this server did not issue.
var ErrInvalidToken = errors.New("page: invalid page token")

// ErrInvalidSize is returned for a negative page size.
var ErrInvalidSize = errors.New("page: page_size must not be negative")

// Size returns the effective page size for a requested one.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, ErrInvalidSize
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	default:
		return int(requested), nil
	}
}

// Codec encodes and decodes page tokens for one list endpoint.
type Codec struct {
	// Key authenticates tokens; tokens survive restarts only if it is stable.
	Key []byte
	// Scope binds a token to one endpoint and its filters (for example the
	// method name plus the normalized query), so a token cannot be replayed
	// against another query.
	Scope string
}

type envelope struct {
	V int             `json:"v"`
	C json.RawMessage `json:"c"`
}

// Encode returns the token of cursor, any JSON-encodable value.
func (c Codec) Encode(cursor any) (string, error) {
	cb, err := json.Marshal(cursor)
	if err != nil {
		return "", fmt.Errorf("page: encode cursor: %w", err)
	}
	body, err := json.Marshal(envelope{V: 1, C: cb})
	if err != nil {
		return "", fmt.Errorf("page: encode cursor: %w", err)
	}
	mac := c.mac(body)
	return base64.RawURLEncoding.EncodeToString(append(mac, body...)), nil
}

// Decode parses token into cursor. An empty token leaves cursor untouched
// and returns false.
func (c Codec) Decode(token string, cursor any) (bool, error) {
	if token == "" {
		return false, nil
	}
	if len(token) > MaxTokenLen {
		return false, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	// DecodeString skips \r and \n: accept only the canonical form.
	if err != nil || len(raw) < sha256.Size || base64.RawURLEncoding.EncodeToString(raw) != token {
		return false, ErrInvalidToken
	}
	mac, body := raw[:sha256.Size], raw[sha256.Size:]
	if !hmac.Equal(mac, c.mac(body)) {
		return false, ErrInvalidToken
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.V != 1 {
		return false, ErrInvalidToken
	}
	if err := json.Unmarshal(env.C, cursor); err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return true, nil
}

func (c Codec) mac(body []byte) []byte {
	h := hmac.New(sha256.New, c.Key)
	h.Write([]byte(c.Scope))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}
