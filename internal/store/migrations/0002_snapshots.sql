-- Every interval's measurements as the encoded metrics.Snapshot
-- (metrics.EncodeSnapshot; docs/snapshots.md), so summaries and windows
-- can be computed from them with exact percentiles. Kept apart from the
-- points, which a run's end rewrites from its final summary. version is the
-- encoding's major version, so a reader can tell what it cannot read
-- without decoding. Runs recorded before this table, or by an older
-- `surge run --server`, have no rows here.

CREATE TABLE snapshots (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
