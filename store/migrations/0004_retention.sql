-- Retention: personal data of long-closed cases is erased; what the statistics need survives as
-- anonymous facts (sex and age group of the sentenced person, never a name or a date of birth).

ALTER TABLE cases ADD COLUMN anonymous_facts jsonb;
ALTER TABLE cases ADD COLUMN erased_at timestamptz;
CREATE INDEX cases_closed_idx ON cases (closed_at) WHERE closed_at IS NOT NULL AND erased_at IS NULL;

-- Age groups for the statistics the UNODC questionnaire asks for (seeds/luxembourg-unodc-questionnaire.txt):
-- age of the sentenced person on the day of the judgment. One definition, used by the dashboards and by
-- retention when it keeps the anonymous facts of an erased case.
CREATE FUNCTION probatio_age_group(born text, judged text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN born !~ '^\d{4}-\d{2}-\d{2}$' OR judged !~ '^\d{4}-\d{2}-\d{2}$' THEN 'unknown'
        ELSE (
            SELECT CASE
                WHEN y < 18 THEN 'under 18'
                WHEN y < 25 THEN '18-24'
                WHEN y < 35 THEN '25-34'
                WHEN y < 45 THEN '35-44'
                WHEN y < 55 THEN '45-54'
                WHEN y < 65 THEN '55-64'
                ELSE '65 and over'
            END
            FROM (SELECT date_part('year', age(judged::date, born::date))::int AS y) AS a
        )
    END
$$;
