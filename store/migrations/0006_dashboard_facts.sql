-- The dashboard at a million cases: statistics read small anonymous facts, never the certificates,
-- and the "needs attention" list is a partial index away.

-- Sex and age group of the sentenced person, kept beside the certificate from the start (and kept by
-- retention when the certificate is erased), so statistics never open the certificate itself.
CREATE FUNCTION probatio_keep_person_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.certificate IS NOT NULL THEN
        NEW.anonymous_facts := COALESCE(NEW.anonymous_facts, '{}'::jsonb) || jsonb_build_object(
            'sex', COALESCE(NEW.certificate->'person'->>'sex', 'unknown'),
            'age_group', probatio_age_group(NEW.certificate->'person'->>'date_of_birth',
                                            NEW.certificate->'judgment'->>'delivered_on'));
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER cases_person_facts BEFORE INSERT OR UPDATE OF certificate ON cases
    FOR EACH ROW EXECUTE FUNCTION probatio_keep_person_facts();
UPDATE cases SET certificate = certificate WHERE certificate IS NOT NULL;

-- Overdue decisions and duties, failed deliveries: what a supervisor must look at today.
ALTER TABLE cases ADD COLUMN needs_attention boolean
    GENERATED ALWAYS AS (alerts ?| ARRAY['decision_overdue', 'duty_overdue', 'delivery_failed']) STORED;
CREATE INDEX cases_attention_idx ON cases (authority, decision_due) WHERE closed_at IS NULL AND needs_attention;

-- The statistics by sex and age group, per state and per month: columns an index can carry, and one
-- covering index so that each statistic is an index-only scan of one authority's cases.
ALTER TABLE cases ADD COLUMN person_sex text GENERATED ALWAYS AS (anonymous_facts->>'sex') STORED;
ALTER TABLE cases ADD COLUMN person_age_group text GENERATED ALWAYS AS (anonymous_facts->>'age_group') STORED;
CREATE INDEX cases_statistics_idx ON cases (authority) INCLUDE (direction, created_at, issuing_state,
    executing_state, stage, outcome, closed_at, person_sex, person_age_group);
