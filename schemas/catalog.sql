-- g2c catalog, schema version 1.
--
-- One SQLite file holds everything a g2c deployment knows: who the patients
-- are, which slides and stains exist, where the glomeruli are, the crops cut
-- from them, the reference sets, the trained models, every run, and every
-- prediction.  Later versions are reached by the forward migrations in
-- schemas/migrations/, applied in order when a catalog is opened.
--
-- Conventions: integer primary keys (rowids, not AUTOINCREMENT, so an
-- interrupted and rolled-back transaction leaves no gap), times as ISO-8601
-- UTC text, coordinates in level-0 slide pixels, resolutions in µm/px.

PRAGMA foreign_keys = ON;

CREATE TABLE patients (
    id          INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,          -- the lab's patient identifier
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE stains (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,          -- canonical: PAS, HE, MASSON, PASM, ...
    description TEXT NOT NULL DEFAULT ''
);

-- Other spellings of a stain name accepted in manifests (matched without case).
CREATE TABLE stain_aliases (
    alias       TEXT PRIMARY KEY COLLATE NOCASE,
    stain_id    INTEGER NOT NULL REFERENCES stains(id) ON DELETE CASCADE
);

CREATE TABLE labels (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,          -- canonical: noa, ss, gs, nongs
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE label_aliases (
    alias       TEXT PRIMARY KEY COLLATE NOCASE,
    label_id    INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE
);

CREATE TABLE slides (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    stain_id        INTEGER NOT NULL REFERENCES stains(id),
    path            TEXT NOT NULL UNIQUE,      -- absolute path at ingestion
    name            TEXT NOT NULL,             -- file name, for people
    vendor          TEXT NOT NULL,
    width           INTEGER NOT NULL,          -- level 0
    height          INTEGER NOT NULL,
    level_count     INTEGER NOT NULL,
    mpp_x           REAL,                      -- NULL when the slide does not say
    mpp_y           REAL,
    objective_power REAL,
    fingerprint     TEXT NOT NULL,             -- openslide.quickhash-1
    file_size       INTEGER NOT NULL,
    split           TEXT CHECK (split IN ('train', 'val', 'test')),
    ingested_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX slides_patient ON slides(patient_id);
CREATE INDEX slides_stain ON slides(stain_id);

CREATE TABLE slide_levels (
    slide_id    INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
    level       INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    downsample  REAL NOT NULL,
    PRIMARY KEY (slide_id, level)
);

-- One row per annotated glomerulus: its box and the label the annotator gave.
CREATE TABLE annotations (
    id          INTEGER PRIMARY KEY,
    slide_id    INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
    label_id    INTEGER REFERENCES labels(id),  -- NULL: unlabelled
    x           REAL NOT NULL,
    y           REAL NOT NULL,
    w           REAL NOT NULL CHECK (w > 0),
    h           REAL NOT NULL CHECK (h > 0),
    source_file TEXT NOT NULL,                  -- annotation file it came from
    source_format TEXT NOT NULL,                -- geojson, asap, imagescope, csv
    source_id   TEXT NOT NULL DEFAULT '',       -- feature id / name / line
    clipped     INTEGER NOT NULL DEFAULT 0      -- 1 if the box was cut to the slide
);
CREATE INDEX annotations_slide ON annotations(slide_id);
CREATE INDEX annotations_label ON annotations(label_id);

-- Image crops: glomerulus crops (annotation_id set) and reference-set crops
-- (refset_id set).  Pixels are PNG blobs; provenance says exactly where
-- each came from.
CREATE TABLE patches (
    id            INTEGER PRIMARY KEY,
    slide_id      INTEGER REFERENCES slides(id) ON DELETE CASCADE,
    annotation_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,
    refset_id     INTEGER REFERENCES refsets(id) ON DELETE CASCADE,
    level         INTEGER,                    -- pyramid level read
    x             REAL,                       -- level-0 box actually cut
    y             REAL,
    w             REAL,
    h             REAL,
    mpp           REAL,                       -- µm per pixel of the crop
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    png           BLOB NOT NULL,
    source        TEXT NOT NULL DEFAULT '',   -- e.g. the tile file for imports
    CHECK ((annotation_id IS NULL) <> (refset_id IS NULL))
);
CREATE INDEX patches_slide ON patches(slide_id);
CREATE INDEX patches_annotation ON patches(annotation_id);
CREATE INDEX patches_refset ON patches(refset_id);

-- Reference sets (stage 1): random unlabelled crops of one stain.
CREATE TABLE refsets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    stain_id    INTEGER NOT NULL REFERENCES stains(id),
    crop_size   INTEGER NOT NULL,
    mpp         REAL,
    seed        INTEGER,
    params      TEXT NOT NULL DEFAULT '{}',   -- JSON: method and parameters
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Trained models (generators, classifiers): configuration and where the
-- weights are.
CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,                -- cyclegan, g2c
    config      TEXT NOT NULL DEFAULT '{}',   -- JSON
    checkpoint  TEXT,                         -- safetensors path
    parent_id   INTEGER REFERENCES models(id),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE model_refsets (
    model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    refset_id   INTEGER NOT NULL REFERENCES refsets(id),
    role        TEXT NOT NULL,                -- source, target
    PRIMARY KEY (model_id, refset_id, role)
);

-- Anything that runs: ingestion, training epochs, evaluations, inference.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,                -- ingest, pretrain, train, eval, infer
    model_id    INTEGER REFERENCES models(id) ON DELETE CASCADE,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'failed', 'partial')),
    params      TEXT NOT NULL DEFAULT '{}',   -- JSON
    metrics     TEXT NOT NULL DEFAULT '{}',   -- JSON
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    finished_at TEXT
);
CREATE INDEX runs_model ON runs(model_id);

-- Per-epoch training records (losses, accuracies).
CREATE TABLE run_epochs (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch       INTEGER NOT NULL,
    metrics     TEXT NOT NULL DEFAULT '{}',   -- JSON
    PRIMARY KEY (run_id, epoch)
);

-- One row per (glomerulus, model): what the model said.
CREATE TABLE predictions (
    id            INTEGER PRIMARY KEY,
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    model_id      INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    label_id      INTEGER NOT NULL REFERENCES labels(id),
    probabilities TEXT NOT NULL,              -- JSON object label -> p
    confidence    REAL NOT NULL,              -- p of the predicted label
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (annotation_id, model_id)
);
CREATE INDEX predictions_model ON predictions(model_id);

-- ---- views for people -------------------------------------------------
-- Query these from the sqlite3 shell or `g2c query`.

-- Every prediction with where it is and what the annotator said.
CREATE VIEW glomerulus_results AS
SELECT pr.id            AS prediction_id,
       pa.external_id   AS patient,
       s.id             AS slide_id,
       s.name           AS slide,
       st.name          AS stain,
       a.id             AS annotation_id,
       a.x, a.y, a.w, a.h,
       la.name          AS annotated_label,
       lp.name          AS predicted_label,
       pr.confidence,
       pr.probabilities,
       m.name           AS model,
       pr.run_id,
       pr.created_at,
       -- nongs ("not globally sclerosed") agrees with noa and ss
       CASE WHEN la.name IS NULL THEN NULL
            WHEN la.name = lp.name THEN 1
            WHEN la.name = 'nongs' AND lp.name IN ('noa', 'ss') THEN 1
            WHEN lp.name = 'nongs' AND la.name IN ('noa', 'ss') THEN 1
            ELSE 0 END  AS agrees
FROM predictions pr
JOIN annotations a ON a.id = pr.annotation_id
JOIN slides s      ON s.id = a.slide_id
JOIN stains st     ON st.id = s.stain_id
JOIN patients pa   ON pa.id = s.patient_id
JOIN models m      ON m.id = pr.model_id
JOIN labels lp     ON lp.id = pr.label_id
LEFT JOIN labels la ON la.id = a.label_id;

-- Per patient and model: counts by predicted class, percentage globally
-- sclerosed, mean confidence, disagreements with annotations.
CREATE VIEW patient_summary AS
SELECT patient, model,
       count(*)                                   AS glomeruli,
       sum(predicted_label = 'noa')               AS noa,
       sum(predicted_label = 'ss')                AS ss,
       sum(predicted_label = 'gs')                AS gs,
       sum(predicted_label = 'nongs')             AS nongs,
       round(100.0 * sum(predicted_label = 'gs') / count(*), 1) AS percent_gs,
       round(avg(confidence), 3)                  AS mean_confidence,
       sum(agrees IS NOT NULL)                    AS annotated,
       sum(agrees = 0)                            AS disagreements
FROM glomerulus_results
GROUP BY patient, model;

-- The same per slide.
CREATE VIEW slide_summary AS
SELECT patient, slide_id, slide, stain, model,
       count(*)                                   AS glomeruli,
       sum(predicted_label = 'noa')               AS noa,
       sum(predicted_label = 'ss')                AS ss,
       sum(predicted_label = 'gs')                AS gs,
       sum(predicted_label = 'nongs')             AS nongs,
       round(100.0 * sum(predicted_label = 'gs') / count(*), 1) AS percent_gs,
       round(avg(confidence), 3)                  AS mean_confidence,
       sum(agrees IS NOT NULL)                    AS annotated,
       sum(agrees = 0)                            AS disagreements
FROM glomerulus_results
GROUP BY slide_id, model;

-- Predictions that contradict the annotator.
CREATE VIEW disagreements AS
SELECT * FROM glomerulus_results WHERE agrees = 0;

-- Annotated glomeruli per patient and label (before any model ran).
CREATE VIEW annotation_counts AS
SELECT pa.external_id AS patient, coalesce(l.name, '(unlabelled)') AS label,
       count(*) AS glomeruli
FROM annotations a
JOIN slides s    ON s.id = a.slide_id
JOIN patients pa ON pa.id = s.patient_id
LEFT JOIN labels l ON l.id = a.label_id
GROUP BY pa.external_id, l.name;

-- Built-in vocabularies.  Users may add rows of their own.
INSERT INTO stains (name, description) VALUES
    ('PAS',       'periodic acid-Schiff'),
    ('HE',        'haematoxylin and eosin'),
    ('MASSON',    'Masson trichrome'),
    ('PASM',      'periodic acid-methenamine silver'),
    ('JonesHE',   'Jones methenamine silver with H&E counterstain'),
    ('SiriusRed', 'picro-Sirius red'),
    ('CD68',      'CD68 immunohistochemistry');
INSERT INTO stain_aliases (alias, stain_id) VALUES
    ('H&E', (SELECT id FROM stains WHERE name = 'HE')),
    ('H-E', (SELECT id FROM stains WHERE name = 'HE')),
    ('trichrome', (SELECT id FROM stains WHERE name = 'MASSON')),
    ('Jones', (SELECT id FROM stains WHERE name = 'JonesHE')),
    ('Sirius', (SELECT id FROM stains WHERE name = 'SiriusRed'));

INSERT INTO labels (name, description) VALUES
    ('noa',   'normal glomerulus (no abnormality)'),
    ('ss',    'segmental sclerosis'),
    ('gs',    'global sclerosis'),
    ('nongs', 'not globally sclerosed (normal or other lesion)');
INSERT INTO label_aliases (alias, label_id) VALUES
    ('normal', (SELECT id FROM labels WHERE name = 'noa')),
    ('segmental sclerosis', (SELECT id FROM labels WHERE name = 'ss')),
    ('global sclerosis', (SELECT id FROM labels WHERE name = 'gs')),
    ('GS', (SELECT id FROM labels WHERE name = 'gs')),
    ('nonGS', (SELECT id FROM labels WHERE name = 'nongs')),
    ('non-GS', (SELECT id FROM labels WHERE name = 'nongs'));

PRAGMA user_version = 1;
