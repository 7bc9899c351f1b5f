-- Version 3: generated stain views of each glomerulus (g2c report).
--
-- Inference translates a glomerulus's PAS crop into other stains with the
-- model's generators; keeping those views lets the report show them beside
-- the crop, since a pathologist often reads a lesion more easily in the
-- stain that shows it best (collagen in trichrome, membranes in silver).
-- One row per (glomerulus, model, stain); stain is a name from `stains`.

CREATE TABLE generated_views (
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    model_id      INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    stain         TEXT NOT NULL REFERENCES stains(name) ON UPDATE CASCADE,
    png           BLOB NOT NULL,
    PRIMARY KEY (annotation_id, model_id, stain)
);
CREATE INDEX generated_views_model ON generated_views(model_id);

PRAGMA user_version = 3;
