-- Run history: one row per run, its timeline points, and what happened
-- during it (load changes, stops). Times are Unix nanoseconds (UTC), so they
-- sort as numbers; JSON columns hold the wire forms the API serves.

CREATE TABLE runs (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    status   TEXT NOT NULL,            -- running, finished, stopped, interrupted, failed
    source   TEXT NOT NULL,            -- server (started from the API) or cli (recorded)
    model    TEXT NOT NULL,            -- open or closed
    started  INTEGER NOT NULL,
    ended    INTEGER,                  -- NULL while running
    plan     TEXT NOT NULL,            -- scenario.Plan as JSON
    request  TEXT,                     -- the API request that started it, if any
    error    TEXT NOT NULL DEFAULT '', -- why it failed or stopped
    summary  TEXT,                     -- surge.summary/v1 so far, without the timeline
    seen     INTEGER NOT NULL          -- last write, for recorded runs' lease
);

CREATE INDEX runs_started ON runs (started DESC);

CREATE TABLE points (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    point  TEXT NOT NULL,              -- one timeline point as JSON
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    t      INTEGER NOT NULL,
    kind   TEXT NOT NULL,              -- adjust, stop, interrupted, …
    detail TEXT NOT NULL
);

CREATE INDEX events_run ON events (run_id, t);
