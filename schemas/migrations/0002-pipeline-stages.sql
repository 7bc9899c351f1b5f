-- Version 2: pipeline stage status (g2c run).
--
-- One row per (pipeline, stage): the hash of the parameters it last ran
-- with, so a re-run skips completed stages and a changed parameter
-- invalidates the stage and those after it.

CREATE TABLE pipeline_stages (
    pipeline    TEXT NOT NULL,                -- pipeline file name
    stage       TEXT NOT NULL,                -- ingest, refset, pretrain, ...
    position    INTEGER NOT NULL,             -- order within the pipeline
    params_hash TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (pipeline, stage)
);

PRAGMA user_version = 2;
