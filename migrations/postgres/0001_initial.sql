-- The schema of src/server/db/sqlite.rs, on PostgreSQL. Times are Unix seconds
-- (expires_at_ms: milliseconds), as in SQLite, so both answer the same.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    full_name TEXT,
    guest_expires_at BIGINT,       -- guests' sessions end then
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    user_id BIGINT,                -- NULL for an application session
    application_id BIGINT NOT NULL,
    nonce BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at_ms);

-- An identity column is a sequence: ids are unique and increasing across every
-- instance, and those of deleted blobs never come back.
CREATE TABLE blobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    size BIGINT,                   -- set by complete, from the stored object
    object_size BIGINT,            -- set when an upload lands
    object_md5 TEXT,
    object_content_type TEXT,      -- the Content-Type the object was stored with
    completed_at BIGINT,
    form_expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX blobs_by_owner ON blobs (owner_id, id);
