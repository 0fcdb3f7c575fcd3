-- The dashboard's "due soon" list names duties too (policy deadlines `duty:*`, workflows/deadlines.py), not
-- only the decision: the earliest open duty of each case is kept beside its deadlines, so the list is one
-- ordered index scan per authority like the decisions' (store/cases.py DASHBOARD_SQL), never a walk
-- through every open case's deadlines.
ALTER TABLE cases ADD COLUMN next_duty_due timestamptz;
ALTER TABLE cases ADD COLUMN next_duty text;

CREATE FUNCTION probatio_keep_next_duty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT (d->>'due')::timestamptz, d->>'name' INTO NEW.next_duty_due, NEW.next_duty
    FROM jsonb_array_elements(COALESCE(NEW.deadlines, '[]'::jsonb)) AS d
    WHERE d->>'name' LIKE 'duty:%' AND COALESCE(d->>'status', 'open') = 'open' AND d->>'due' IS NOT NULL
    ORDER BY (d->>'due')::timestamptz LIMIT 1;
    IF NOT FOUND THEN
        NEW.next_duty_due := NULL;
        NEW.next_duty := NULL;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER cases_next_duty BEFORE INSERT OR UPDATE OF deadlines ON cases
    FOR EACH ROW EXECUTE FUNCTION probatio_keep_next_duty();
UPDATE cases SET deadlines = deadlines WHERE closed_at IS NULL AND deadlines <> '[]'::jsonb;

CREATE INDEX cases_open_duty_due_idx ON cases (authority, next_duty_due) WHERE closed_at IS NULL
    AND next_duty_due IS NOT NULL;
