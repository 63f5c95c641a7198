package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/beaconlive/beacon/store"
)

// Params are argon2id parameters.
type Params struct {
	// Time is the number of passes.
	Time uint32
	// MemoryKiB is the memory cost in KiB.
	MemoryKiB uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the production parameters: RFC 9106's second recommended
// option scaled to a 2-core server (t=3, m=64 MiB, p=2), a 16-byte salt and
// a 32-byte key. BenchmarkHashPasswordDefault measures the cost (0.56 s per
// hash on the shared 2-core development machine under heavy load).
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2, SaltLen: 16, KeyLen: 32}

// Password length limits, in characters.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

var errBadHash = errors.New("auth: malformed password hash")

// hashSlots bounds concurrent argon2 runs (memory).
type hashSlots chan struct{}

func (h hashSlots) acquire(ctx context.Context) error {
	select {
	case h <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h hashSlots) release() { <-h }

// ValidatePassword checks a new password: valid UTF-8, 8–128 characters
// after NFKC normalization. The error never contains the password.
func ValidatePassword(pw string) error {
	if len(pw) > 4*MaxPasswordLen || !utf8.ValidString(pw) {
		return &store.ValidationError{Field: "password", Reason: fmt.Sprintf("must be valid UTF-8 of %d to %d characters", MinPasswordLen, MaxPasswordLen)}
	}
	n := utf8.RuneCountInString(norm.NFKC.String(pw))
	if n < MinPasswordLen || n > MaxPasswordLen {
		return &store.ValidationError{Field: "password", Reason: fmt.Sprintf("must be %d to %d characters long", MinPasswordLen, MaxPasswordLen)}
	}
	return nil
}

// HashPassword returns the argon2id PHC string of pw (NFKC-normalized) with a
// fresh random salt.
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFKC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC string, comparing in
// constant time; needsRehash is true when the hash used other parameters
// than want.
func VerifyPassword(phc, pw string, want Params) (ok, needsRehash bool, err error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	if len(pw) > 4*MaxPasswordLen {
		return false, false, nil
	}
	got := argon2.IDKey([]byte(norm.NFKC.String(pw)), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	needsRehash = p.Time != want.Time || p.MemoryKiB != want.MemoryKiB || p.Threads != want.Threads || uint32(len(key)) != want.KeyLen
	return ok, needsRehash, nil
}

func parsePHC(s string) (Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return Params{}, nil, nil, errBadHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, errBadHash
	}
	// Refuse parameters that would let a stored hash exhaust the server.
	if p.Time == 0 || p.Time > 16 || p.MemoryKiB < 8 || p.MemoryKiB > 1<<20 || p.Threads == 0 {
		return Params{}, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, errBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
