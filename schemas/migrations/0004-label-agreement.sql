-- Version 4: agreement of a prediction with the annotation, for labels
-- that stand for several grades.
--
-- Version 1's glomerulus_results counted an s-vs-noa model's "s"
-- (sclerosis: ss or gs) as disagreeing with an annotated ss or gs, so every
-- right call of such a model showed up in `disagreements`.  The views that
-- read glomerulus_results are dropped and made again with it.

DROP VIEW disagreements;
DROP VIEW slide_summary;
DROP VIEW patient_summary;
DROP VIEW glomerulus_results;

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
       -- Labels stand for sets of grades: s (sclerosis) = {ss, gs},
       -- nongs (not globally sclerosed) = {noa, ss}.  A prediction agrees
       -- with the annotation when their sets overlap, so an s-vs-noa
       -- model's "s" agrees with ss and gs, a gs-vs-rest model's "nongs"
       -- with noa and ss.
       CASE WHEN la.name IS NULL THEN NULL
            WHEN la.name = lp.name THEN 1
            WHEN la.name = 'nongs' AND lp.name IN ('noa', 'ss', 's') THEN 1
            WHEN lp.name = 'nongs' AND la.name IN ('noa', 'ss', 's') THEN 1
            WHEN la.name = 's' AND lp.name IN ('ss', 'gs') THEN 1
            WHEN lp.name = 's' AND la.name IN ('ss', 'gs') THEN 1
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

PRAGMA user_version = 4;
