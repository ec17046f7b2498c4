-- laned collect: the central office's store, version 1.
-- One schema for SQLite and PostgreSQL: times are Unix microseconds (UTC)
-- in BIGINT, ids are text, so the same statements run on both engines.

-- lanes is one row per lane: its sequence ledger (first and highest
-- sequence received; what is missing in between is in gaps), its counters
-- and its last status and health.
CREATE TABLE lanes (
    site            TEXT    NOT NULL,
    lane            TEXT    NOT NULL,
    registered      INTEGER NOT NULL DEFAULT 0,  -- listed in the collector's --lanes file
    first_seq       BIGINT  NOT NULL DEFAULT 0,  -- 0: no sequenced message yet
    max_seq         BIGINT  NOT NULL DEFAULT 0,
    stored          BIGINT  NOT NULL DEFAULT 0,
    duplicates      BIGINT  NOT NULL DEFAULT 0,
    out_of_order    BIGINT  NOT NULL DEFAULT 0,
    first_seen      BIGINT  NOT NULL DEFAULT 0,
    last_seen       BIGINT  NOT NULL DEFAULT 0,
    last_health     BIGINT  NOT NULL DEFAULT 0,  -- "at" of the newest health report
    outbox_dropped  BIGINT  NOT NULL DEFAULT 0,  -- as the lane's newest health reports it
    status          TEXT    NOT NULL DEFAULT '', -- online, offline, '' (never sent)
    status_since    BIGINT  NOT NULL DEFAULT 0,
    status_version  TEXT    NOT NULL DEFAULT '',
    status_reason   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (site, lane)
);

-- gaps are the sequence ranges [from_seq, to_seq] a lane has not delivered
-- although a later sequence arrived; opened_at is when the gap was seen.
CREATE TABLE gaps (
    site      TEXT   NOT NULL,
    lane      TEXT   NOT NULL,
    from_seq  BIGINT NOT NULL,
    to_seq    BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    PRIMARY KEY (site, lane, from_seq)
);

-- messages holds every stored transaction, event and health report once:
-- message_id is the unique key that makes delivery exactly once, and
-- (site, lane, sequence) is unique too.
CREATE TABLE messages (
    message_id  TEXT   NOT NULL PRIMARY KEY,
    site        TEXT   NOT NULL,
    lane        TEXT   NOT NULL,
    sequence    BIGINT NOT NULL,
    kind        TEXT   NOT NULL,  -- transaction, event, health
    at          BIGINT NOT NULL,  -- completed_at (transaction) or at (event, health)
    received_at BIGINT NOT NULL,
    payload     TEXT   NOT NULL   -- the JSON as published
);
CREATE UNIQUE INDEX messages_lane_seq ON messages (site, lane, sequence);
CREATE INDEX messages_kind_at ON messages (kind, at);
CREATE INDEX messages_lane_at ON messages (site, lane, at);

-- occupants are the per-occupant decisions of the transactions, for the
-- office's queries by decision and by subject.
CREATE TABLE occupants (
    message_id TEXT    NOT NULL,
    idx        INTEGER NOT NULL,
    site       TEXT    NOT NULL,
    lane       TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    decision   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    subject_id TEXT    NOT NULL DEFAULT '',
    score      DOUBLE PRECISION,
    quality    DOUBLE PRECISION,
    PRIMARY KEY (message_id, idx)
);
CREATE INDEX occupants_subject_at ON occupants (subject_id, at);
CREATE INDEX occupants_decision_at ON occupants (decision, at);

-- quarantine keeps every refused payload with the reason (never dropped
-- silently). payload is the first bytes as received (binary-safe).
CREATE TABLE quarantine (
    id          TEXT    NOT NULL PRIMARY KEY,
    received_at BIGINT  NOT NULL,
    topic       TEXT    NOT NULL,
    site        TEXT    NOT NULL DEFAULT '',
    lane        TEXT    NOT NULL DEFAULT '',
    code        TEXT    NOT NULL,  -- malformed, schema, oversize, unknown_lane, topic_mismatch, stale, sequence_conflict, ...
    reason      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    payload     BYTEA   NOT NULL
);
CREATE INDEX quarantine_received_at ON quarantine (received_at);
CREATE INDEX quarantine_lane ON quarantine (site, lane, received_at);

-- retention_log records every retention deletion.
CREATE TABLE retention_log (
    id      TEXT   NOT NULL PRIMARY KEY,
    at      BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    cutoff  BIGINT NOT NULL,
    deleted BIGINT NOT NULL
);
