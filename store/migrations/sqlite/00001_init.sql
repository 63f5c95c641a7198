-- Beacon state store, initial schema (SQLite).
-- Times are INTEGER microseconds since the Unix epoch (UTC); NULL means unset.
-- Lists (tags, scopes) are JSON arrays in TEXT.

-- +goose Up
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    login          TEXT    NOT NULL UNIQUE,  -- normalized: [a-z0-9_]{3,25}
    display_name   TEXT    NOT NULL,
    email          TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER,
    totp_secret    TEXT    NOT NULL DEFAULT '',
    totp_enabled   INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE user_roles (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'streamer', 'moderator', 'admin')),
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
) STRICT;

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BLOB    NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, hash)
) STRICT;

CREATE TABLE categories (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
) STRICT;

CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL DEFAULT '',
    category_id INTEGER REFERENCES categories (id),
    language    TEXT    NOT NULL DEFAULT 'en',
    tags        TEXT    NOT NULL DEFAULT '[]',
    mature      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE stream_keys (
    id         INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL UNIQUE,  -- SHA-256 of the key
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX stream_keys_active ON stream_keys (channel_id) WHERE revoked_at IS NULL;

CREATE TABLE follows (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
) STRICT;
CREATE INDEX follows_by_channel ON follows (channel_id, user_id);

CREATE TABLE watch_sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    start_at   INTEGER NOT NULL,
    stop_at    INTEGER
) STRICT;
CREATE INDEX watch_sessions_by_user ON watch_sessions (user_id, id);
CREATE INDEX watch_sessions_by_channel ON watch_sessions (channel_id, id);
CREATE INDEX watch_sessions_by_start ON watch_sessions (start_at);

CREATE TABLE api_clients (
    client_id   TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    secret_hash BLOB    NOT NULL,  -- SHA-256 of the secret
    scopes      TEXT    NOT NULL DEFAULT '[]',
    owner_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE TABLE access_tokens (
    hash       BLOB    PRIMARY KEY,  -- SHA-256 of the token
    client_id  TEXT    NOT NULL REFERENCES api_clients (client_id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX access_tokens_by_client ON access_tokens (client_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

CREATE TABLE sessions (
    hash        BLOB    PRIMARY KEY,  -- SHA-256 of the cookie value
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mfa_pending INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Append-only: no foreign keys (it outlives what it describes), and
-- triggers refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    actor_id   INTEGER NOT NULL DEFAULT 0,
    subject_id INTEGER NOT NULL DEFAULT 0,
    login      TEXT    NOT NULL DEFAULT '',
    channel_id INTEGER NOT NULL DEFAULT 0,
    client_id  TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_by_kind ON audit_log (kind, id);
CREATE INDEX audit_by_login ON audit_log (login, id);
CREATE INDEX audit_by_actor ON audit_log (actor_id, id);
CREATE INDEX audit_by_subject ON audit_log (subject_id, id);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE access_tokens;
DROP TABLE api_clients;
DROP TABLE watch_sessions;
DROP TABLE follows;
DROP TABLE stream_keys;
DROP TABLE channels;
DROP TABLE categories;
DROP TABLE recovery_codes;
DROP TABLE user_roles;
DROP TABLE users;
