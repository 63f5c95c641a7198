package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"
)

// Prefixes of the generated secrets; they make a leaked secret easy to
// recognize (secret scanners) and let a verifier reject garbage cheaply.
const (
	StreamKeyPrefix    = "live_"
	ClientSecretPrefix = "bcs_"
	AccessTokenPrefix  = "bat_"
	ClientIDPrefix     = "bc_"
)

const secretBytes = 32

var b64 = base64.RawURLEncoding

// encodedLen is the base64url length of 32 bytes.
var encodedLen = b64.EncodedLen(secretBytes)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never fails on supported platforms (Go ≥ 1.24 it
	// crashes the program instead of returning an error).
	_, _ = rand.Read(b)
	return b
}

// Digest returns the SHA-256 digest of a secret, as stored.
func Digest(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newSecret(prefix string) (string, []byte) {
	s := prefix + b64.EncodeToString(randomBytes(secretBytes))
	return s, Digest(s)
}

// wellFormed reports whether s is prefix + 43 base64url characters.
func wellFormed(s, prefix string) bool {
	if len(s) != len(prefix)+encodedLen || !strings.HasPrefix(s, prefix) {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewStreamKey returns a fresh stream key and its digest. Show the key once;
// store only the digest.
func NewStreamKey() (key string, digest []byte) { return newSecret(StreamKeyPrefix) }

// NewClientCredentials returns a client id, a client secret and the
// secret's digest.
func NewClientCredentials() (clientID, secret string, digest []byte) {
	clientID = ClientIDPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(10)))
	secret, digest = newSecret(ClientSecretPrefix)
	return clientID, secret, digest
}

// newAccessToken returns a bearer token and its digest.
func newAccessToken() (string, []byte) { return newSecret(AccessTokenPrefix) }

// newSessionID returns a session cookie value and its digest.
func newSessionID() (string, []byte) {
	s := b64.EncodeToString(randomBytes(secretBytes))
	return s, Digest(s)
}

// equalDigest compares two digests in constant time.
func equalDigest(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// recoveryAlphabet is base32 without padding; codes are grouped by 4.
var recoveryEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecoveryCodes returns n codes "ABCD-EFGH-IJKL-MNOP" (80 bits each) and
// their digests.
func newRecoveryCodes(n int) ([]string, [][]byte) {
	codes := make([]string, n)
	digests := make([][]byte, n)
	for i := range codes {
		raw := recoveryEnc.EncodeToString(randomBytes(10)) // 16 characters
		codes[i] = fmt.Sprintf("%s-%s-%s-%s", raw[0:4], raw[4:8], raw[8:12], raw[12:16])
		digests[i] = Digest(raw)
	}
	return codes, digests
}

// normalizeRecoveryCode strips separators and upper-cases; ok is false when
// the result cannot be a recovery code.
func normalizeRecoveryCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != 16 {
		return "", false
	}
	if _, err := recoveryEnc.DecodeString(s); err != nil {
		return "", false
	}
	return s, true
}
