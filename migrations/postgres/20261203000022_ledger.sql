-- The transparency log. An act writes its entry in its own transaction (idx NULL,
-- "pending"); the integrator gives pending entries the next log indices in seq order,
-- stores the Merkle nodes that complete, and signs a checkpoint, all in one
-- transaction. So an act that committed is integrated exactly once, also after a crash
-- between the two.
CREATE TABLE ledger_entries (
    seq           BIGSERIAL PRIMARY KEY,
    idx           BIGINT UNIQUE,          -- log index, once integrated
    leaf_hash     BYTEA NOT NULL,           -- SHA-256(0x00 || entry)
    entry         BYTEA NOT NULL,           -- the entry as served (compact JSON)
    kind          TEXT NOT NULL,
    department_id TEXT,
    key_hash      BYTEA,                    -- SHA-256 of the seal's certificate
    subject_hash  BYTEA,                    -- SHA-256 of a signature or a credential
    holder_hash   BYTEA,                    -- keyed hash of holder and certificate (not indexed)
    seal_id       TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_entries_pending ON ledger_entries (seq) WHERE idx IS NULL;
CREATE INDEX ledger_entries_authorities ON ledger_entries (key_hash) WHERE kind = 'ca.certificate';
CREATE INDEX ledger_entries_seal ON ledger_entries (seal_id, seq) WHERE seal_id IS NOT NULL;

-- Integrated entries by the first 8 bytes (big-endian, signed) of their leaf hash and
-- of their signature or credential hash, written by the integrator in sorted batches:
-- random-key indexes on the entries themselves cost every act a page write per index
-- (tests/bench/ledger_indexes.py).
CREATE TABLE ledger_lookup (
    key BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (key, idx)
);

-- Hashes of complete subtrees of 2^level leaves at levels 8, 16, 24 and 32: the hash
-- tiles above level 0 (level 0 is ledger_entries.leaf_hash by idx).
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every checkpoint the log signed (a C2SP signed note), by tree size.
CREATE TABLE ledger_checkpoints (
    size       BIGINT PRIMARY KEY NOT NULL,
    root       BYTEA NOT NULL,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row: the log's name (its origin, fixed at the first start) and signing key, and
-- its size. Integrators lock this row.
CREATE TABLE ledger_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    origin        TEXT,
    key_id        TEXT REFERENCES keys (id),
    size          BIGINT NOT NULL,
    integrated_at BIGINT NOT NULL
);
INSERT INTO ledger_state (id, key_id, size, integrated_at) VALUES (1, NULL, 0, 0);

-- Witnesses' cosignatures of checkpoints (C2SP tlog-cosignature signature lines), shown
-- with the checkpoint they sign.
CREATE TABLE ledger_cosignatures (
    size      BIGINT NOT NULL,
    witness   TEXT NOT NULL,           -- the witness key's name
    line      TEXT NOT NULL,           -- the signature line as served
    signed_at BIGINT NOT NULL,        -- the cosignature's own time, seconds since the epoch
    PRIMARY KEY (size, witness)
);
