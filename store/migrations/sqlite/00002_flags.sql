-- Trust & safety flags queue (SQLite). Flags outlive the channel they are
-- about, like the audit log, so channel_id has no foreign key.

-- +goose Up
CREATE TABLE flags (
    seq                INTEGER PRIMARY KEY,
    flag_id            TEXT    NOT NULL UNIQUE,
    channel_id         INTEGER NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('frame', 'message')),
    subject_id         TEXT    NOT NULL DEFAULT '',
    label              TEXT    NOT NULL,
    model              TEXT    NOT NULL,
    score              REAL    NOT NULL,
    threshold          REAL    NOT NULL,
    evidence_uri       TEXT    NOT NULL DEFAULT '',
    evidence_text      TEXT    NOT NULL DEFAULT '',
    evidence_truncated INTEGER NOT NULL DEFAULT 0,
    scores             TEXT    NOT NULL DEFAULT '{}',  -- JSON object label → score
    created_at         INTEGER NOT NULL,
    state              TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'dismissed', 'confirmed')),
    decision           TEXT    NOT NULL DEFAULT '' CHECK (decision IN ('', 'dismiss', 'confirm', 'confirm_hide', 'confirm_end_stream')),
    reviewer_id        INTEGER NOT NULL DEFAULT 0,
    reviewed_at        INTEGER
) STRICT;
CREATE INDEX flags_by_score ON flags (state, score DESC, created_at, seq);
CREATE INDEX flags_by_age ON flags (state, created_at, seq);
CREATE INDEX flags_by_channel ON flags (channel_id, created_at, seq);

-- +goose Down
DROP TABLE flags;
