-- Trust & safety flags queue (PostgreSQL). Flags outlive the channel they
-- are about, like the audit log, so channel_id has no foreign key.

-- +goose Up
CREATE TABLE flags (
    seq                bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flag_id            text             NOT NULL UNIQUE,
    channel_id         bigint           NOT NULL,
    kind               text             NOT NULL CHECK (kind IN ('frame', 'message')),
    subject_id         text             NOT NULL DEFAULT '',
    label              text             NOT NULL,
    model              text             NOT NULL,
    score              double precision NOT NULL,
    threshold          double precision NOT NULL,
    evidence_uri       text             NOT NULL DEFAULT '',
    evidence_text      text             NOT NULL DEFAULT '',
    evidence_truncated boolean          NOT NULL DEFAULT false,
    scores             text             NOT NULL DEFAULT '{}',  -- JSON object label → score
    created_at         timestamptz      NOT NULL,
    state              text             NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'dismissed', 'confirmed')),
    decision           text             NOT NULL DEFAULT '' CHECK (decision IN ('', 'dismiss', 'confirm', 'confirm_hide', 'confirm_end_stream')),
    reviewer_id        bigint           NOT NULL DEFAULT 0,
    reviewed_at        timestamptz
);
CREATE INDEX flags_by_score ON flags (state, score DESC, created_at, seq);
CREATE INDEX flags_by_age ON flags (state, created_at, seq);
CREATE INDEX flags_by_channel ON flags (channel_id, created_at, seq);

-- +goose Down
DROP TABLE flags;
