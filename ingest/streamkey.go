package ingest

import (
	"errors"
	"net/url"
	"strings"
)

// errBadKey is returned for a publish URL without a usable stream key.
var errBadKey = errors.New("ingest: missing or malformed stream key")

// maxKeyLen bounds the stream key length.
const maxKeyLen = 256

// parseStreamKey returns the stream key of a publish URL
// rtmp://host/{app}/{stream_key}[?query]. The URL comes from the client
// (tcUrl joined with the publish name): it is untrusted and fuzzed.
func parseStreamKey(u *url.URL, app string) (string, error) {
	if u == nil {
		return "", errBadKey
	}
	p := strings.TrimPrefix(u.Path, "/")
	a, key, ok := strings.Cut(p, "/")
	if !ok || a != app {
		return "", errBadKey
	}
	if !validKey(key) {
		return "", errBadKey
	}
	return key, nil
}

// validKey accepts 1 to maxKeyLen URL-safe characters.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return k != "." && k != ".."
}
