-- A measure whose own period ran out (community service, training, damages: workflows/deadlines.py
-- measure_deadlines) needs a supervisor's look like an overdue duty: it joins the dashboard's
-- "overdue decisions and duties", and so does a completed certificate that did not come in the period set
-- (Art 8(2)). A generated column cannot be altered, so it is made again with its indexes.
ALTER TABLE cases DROP COLUMN needs_attention;
ALTER TABLE cases ADD COLUMN needs_attention boolean
    GENERATED ALWAYS AS (alerts ?| ARRAY['decision_overdue', 'duty_overdue', 'delivery_failed',
                                         'measure_period_ended', 'completion_overdue']) STORED;
CREATE INDEX cases_attention_idx ON cases (authority, decision_due) WHERE closed_at IS NULL AND needs_attention;
CREATE INDEX cases_open_due_cover_idx ON cases (authority, decision_due) INCLUDE (needs_attention)
    WHERE closed_at IS NULL;
