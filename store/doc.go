// Package store is Beacon's state-store contract: accounts, roles, channels,
// categories, stream keys, follows, watch sessions, API clients and tokens,
// web sessions, two-factor state and the security audit log.
//
// # Contract
//
// The contract is split into small interfaces, one per concern (Users,
// Roles, TwoFactor, Categories, Channels, StreamKeys, Follows, WatchSessions,
// APIClients, Tokens, Sessions, Audit), so that a consumer declares only the
// slice it needs. Store composes them all and is what a backend returns.
//
// Backends live in child packages: sqlitestore (embedded, pure Go, the
// default) and pgstore (PostgreSQL through pgx). Only cmd/ picks one, by the
// scheme that ParseDSN returns. storetest holds the conformance suite both
// backends pass; migrations holds their embedded, versioned schema; seed holds
// the committed category catalogue and the demo accounts.
//
// # Validation
//
// Every backend validates its input with the helpers of this package before
// it touches the database, so both reject the same input with the same
// *ValidationError (errors.Is(err, ErrInvalid)). Logins are normalized with
// NormalizeLogin: Unicode NFKC, lower case, then restricted to [a-z0-9_] and
// 3–25 characters, so case variants and compatibility look-alikes (full-width
// letters) collide with the original and confusables from other scripts are
// refused. Free text must be valid UTF-8 without control characters and has a
// documented maximum length.
//
// # Secrets
//
// The store never holds a secret in the clear except the TOTP shared secret,
// which the server must read back to verify codes. Passwords are stored as
// argon2id PHC strings, stream keys, API client secrets, access tokens,
// session ids and recovery codes as SHA-256 digests (they are 32 random
// bytes, or at least 80 random bits for recovery codes). Hashing and
// verification live in package auth.
//
// # Time
//
// Times are stored with microsecond precision and returned in UTC.
package store
