-- Capacity searches (`surge capacity`, POST /api/v1/capacity). A search is
-- a run like any other (its one open-model run keeps its points,
-- snapshots and summary); kind tells the two apart, and the capacity table
-- holds the search's surge.capacity/v1 result: the steps so far while it
-- runs, rewritten after every step, and the final result once the search
-- has returned (final = 1), after which it never changes. A search whose
-- server died keeps the steps it had finished.

ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'load'; -- load or capacity

CREATE TABLE capacity (
    run_id TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    result TEXT NOT NULL,              -- surge.capacity/v1 as JSON
    final  INTEGER NOT NULL DEFAULT 0  -- 1 once the search has returned
) WITHOUT ROWID;
