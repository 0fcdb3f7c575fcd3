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

-- Statistics per month and per state: an index-only scan per authority.
CREATE INDEX cases_statistics_idx ON cases (authority, created_at, direction, issuing_state, executing_state);
