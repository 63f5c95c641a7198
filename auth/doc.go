// Package auth is Beacon's security layer over the state store: password
// hashing, stream keys, API client credentials and OAuth2 client-credentials
// access tokens, web sessions, TOTP two-factor authentication with recovery
// codes, brute-force lockout, token-bucket rate limiting, and the audit
// entries of all of these.
//
// # Secrets and how they are kept
//
//   - Passwords: argon2id (RFC 9106) with a 16-byte random salt per hash and
//     DefaultParams (t=3 passes, m=64 MiB, p=2 lanes, 32-byte key), stored as
//     a PHC string "$argon2id$v=19$m=65536,t=3,p=2$salt$key" so the
//     parameters can be raised later (VerifyPassword reports needsRehash).
//     At most 4 hashes run at once, bounding memory to 256 MiB.
//   - Stream keys ("live_" + 43 base64url characters: 32 random bytes),
//     API client secrets ("bcs_" + 32 random bytes), access tokens ("bat_" +
//     32 random bytes) and session ids (32 random bytes) are stored as their
//     SHA-256 digest. They are uniformly random, so a fast hash is enough (a
//     slow one is for low-entropy passwords), and verification is: hash the
//     presented value, one indexed lookup of the digest, then a
//     constant-time comparison. The plaintext is shown once and never logged.
//   - Recovery codes: 16 base32 characters (80 bits), stored as SHA-256.
//   - TOTP secrets (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step) are stored in
//     the clear, since verifying needs them. A code's time step must be later
//     than the last accepted one, so a code cannot be replayed.
//
// # Abuse
//
// After Config.MaxFailures consecutive wrong passwords an account is locked
// for Config.LockoutBase, doubling with every further failure up to
// Config.LockoutMax; attempts during a lockout are refused without checking
// the password. Every failure, lockout and denial is appended to the audit
// log. Limiter is a keyed token bucket (golang.org/x/time/rate) for per-IP
// and per-client limits.
package auth
