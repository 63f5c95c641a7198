package store

import (
	"fmt"
	"net/url"
	"strings"
)

// Schemes ParseDSN recognizes.
const (
	SchemeSQLite   = "sqlite"
	SchemePostgres = "postgres"
)

// DefaultDSN is the embedded default database.
const DefaultDSN = "sqlite://./data/beacon.db"

// ParseDSN splits a database DSN into its scheme and target:
//
//	sqlite://./data/beacon.db     → "sqlite", "./data/beacon.db"
//	sqlite:///var/lib/beacon.db   → "sqlite", "/var/lib/beacon.db"
//	sqlite://:memory:             → "sqlite", ":memory:"
//	postgres://u:p@host:5432/db   → "postgres", the whole URL
//	postgresql://…                → "postgres", the whole URL
//
// cmd uses the scheme to choose a backend and hands it the target. Errors
// never echo the DSN, which may hold a password.
func ParseDSN(dsn string) (scheme, target string, err error) {
	s, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return "", "", fmt.Errorf("store: DSN must look like sqlite://PATH or postgres://HOST/DB")
	}
	switch strings.ToLower(s) {
	case "sqlite", "sqlite3":
		if rest == "" {
			return "", "", fmt.Errorf("store: sqlite DSN has no path (want sqlite://./data/beacon.db)")
		}
		if strings.ContainsAny(rest, "?#\x00") {
			return "", "", fmt.Errorf("store: sqlite DSN path must not contain '?', '#' or NUL (options are set by the store)")
		}
		return SchemeSQLite, rest, nil
	case "postgres", "postgresql":
		u, perr := url.Parse(dsn)
		if perr != nil || u.Host == "" && !strings.Contains(u.RawQuery, "host=") {
			return "", "", fmt.Errorf("store: postgres DSN must be a URL such as postgres://user@127.0.0.1:5432/beacon")
		}
		return SchemePostgres, dsn, nil
	default:
		return "", "", fmt.Errorf("store: unknown DSN scheme %q (want sqlite or postgres)", truncateForError(s))
	}
}
