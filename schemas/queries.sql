-- Named queries of `g2c query NAME`.  Each starts with a "-- name:" line and
-- a one-line description; :patient, :slide and :model are bound from the
-- command line (--patient, --slide, --model) and are NULL when not given,
-- so every query also works unfiltered.

-- name: patients
-- Patients with their slides, annotated glomeruli and crops.
SELECT pa.external_id AS patient,
       count(DISTINCT s.id) AS slides,
       group_concat(DISTINCT st.name) AS stains,
       (SELECT count(*) FROM annotations a JOIN slides s2 ON s2.id = a.slide_id
         WHERE s2.patient_id = pa.id) AS glomeruli
FROM patients pa
LEFT JOIN slides s ON s.patient_id = pa.id
LEFT JOIN stains st ON st.id = s.stain_id
WHERE :patient IS NULL OR pa.external_id = :patient
GROUP BY pa.id
ORDER BY pa.external_id;

-- name: slides
-- Slides with their stain, size, resolution and glomeruli.
SELECT pa.external_id AS patient, s.id AS slide_id, s.name AS slide, st.name AS stain,
       s.vendor, s.width, s.height, s.level_count AS levels, s.mpp_x AS mpp,
       s.split,
       (SELECT count(*) FROM annotations a WHERE a.slide_id = s.id) AS glomeruli
FROM slides s
JOIN patients pa ON pa.id = s.patient_id
JOIN stains st ON st.id = s.stain_id
WHERE (:patient IS NULL OR pa.external_id = :patient)
  AND (:slide IS NULL OR s.name = :slide OR CAST(s.id AS TEXT) = :slide)
ORDER BY pa.external_id, s.id;

-- name: annotations
-- Annotated glomeruli per patient and label.
SELECT * FROM annotation_counts
WHERE :patient IS NULL OR patient = :patient
ORDER BY patient, label;

-- name: by-patient
-- Predicted classes per patient: counts, % globally sclerosed, confidence, disagreements.
SELECT * FROM patient_summary
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
ORDER BY patient, model;

-- name: by-slide
-- Predicted classes per slide.
SELECT * FROM slide_summary
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
  AND (:slide IS NULL OR slide = :slide OR CAST(slide_id AS TEXT) = :slide)
ORDER BY patient, slide_id, model;

-- name: glomeruli
-- One row per glomerulus and model: box, annotated and predicted label, confidence.
SELECT patient, slide, annotation_id, x, y, w, h, annotated_label, predicted_label,
       round(confidence, 3) AS confidence, model
FROM glomerulus_results
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
  AND (:slide IS NULL OR slide = :slide OR CAST(slide_id AS TEXT) = :slide)
ORDER BY patient, slide, annotation_id;

-- name: disagreements
-- Glomeruli whose prediction contradicts the annotation.
SELECT patient, slide, annotation_id, annotated_label, predicted_label,
       round(confidence, 3) AS confidence, model
FROM disagreements
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
ORDER BY confidence DESC;

-- name: refsets
-- Reference sets.
SELECT r.name, st.name AS stain, r.crop_size, r.mpp, r.seed,
       (SELECT count(*) FROM patches p WHERE p.refset_id = r.id) AS crops, r.created_at
FROM refsets r JOIN stains st ON st.id = r.stain_id
ORDER BY r.name;

-- name: models
-- Trained models.
SELECT m.name, m.kind, m.checkpoint, m.created_at,
       (SELECT count(*) FROM predictions pr WHERE pr.model_id = m.id) AS predictions
FROM models m
WHERE :model IS NULL OR m.name = :model
ORDER BY m.id;

-- name: runs
-- Runs of every stage, newest first.
SELECT r.id, r.kind, m.name AS model, r.status, r.started_at, r.finished_at, r.metrics
FROM runs r LEFT JOIN models m ON m.id = r.model_id
WHERE :model IS NULL OR m.name = :model
ORDER BY r.id DESC;

-- name: percent-gs
-- Per patient and model: glomeruli scored and the percentage globally sclerosed.
SELECT patient, model, glomeruli, gs, percent_gs
FROM patient_summary
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
ORDER BY percent_gs DESC, patient;

-- name: gs-20-percent
-- Patients with at least 10 glomeruli scored, 20 % or more of them globally sclerosed.
SELECT patient, model, glomeruli, gs, percent_gs
FROM patient_summary
WHERE glomeruli >= 10 AND percent_gs >= 20
  AND (:model IS NULL OR model = :model)
ORDER BY percent_gs DESC, patient;

-- name: review-queue
-- Disagreements with the annotator, least confident first, with where to look.
SELECT patient, slide, annotation_id, round(x) AS x, round(y) AS y,
       annotated_label, predicted_label, round(confidence, 3) AS confidence, model
FROM disagreements
WHERE (:patient IS NULL OR patient = :patient) AND (:model IS NULL OR model = :model)
ORDER BY confidence, annotation_id;
