-- Issue 13 item 13 (§7 row 25): a measure with a period of its own (`measure:N`, workflows/deadlines.py) is a
-- date the executing side watches like a duty, so the dashboard's "due soon" list names it before it is
-- missed, not only once it is overdue. The earliest open duty or measure of each case is the one kept.
CREATE OR REPLACE FUNCTION probatio_keep_next_duty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT (d->>'due')::timestamptz, d->>'name' INTO NEW.next_duty_due, NEW.next_duty
    FROM jsonb_array_elements(COALESCE(NEW.deadlines, '[]'::jsonb)) AS d
    WHERE (d->>'name' LIKE 'duty:%' OR d->>'name' LIKE 'measure:%')
      AND COALESCE(d->>'status', 'open') = 'open' AND d->>'due' IS NOT NULL
    ORDER BY (d->>'due')::timestamptz LIMIT 1;
    IF NOT FOUND THEN
        NEW.next_duty_due := NULL;
        NEW.next_duty := NULL;
    END IF;
    RETURN NEW;
END;
$$;
-- The open cases already watching a measure (a rewrite of their deadlines runs the trigger again).
UPDATE cases SET deadlines = deadlines
WHERE closed_at IS NULL AND jsonb_path_exists(deadlines, '$[*] ? (@.name starts with "measure:")');
