-- A period that is not whole months (issue 18, item 1): its whole days at either end come from day tallies,
-- not from a count over the cases started on them. A national supervisor's year from the 10th to the 10th
-- has some 30 such days, about 10,000 cases at a million cases: grouping them took ~25 ms; their day tallies
-- are a few hundred to a few thousand rows. Only what is left of a day (a period starting or ending at a time
-- that is not midnight UTC) is still counted from the cases (probatio_tallies_started_between, 0030).
--
-- One row counts the cases of one authority and direction that started on one UTC day and share one value
-- of one facet; the facets and counts are those of case_tallies (0030).
CREATE TABLE case_tallies_daily (
    authority  text   NOT NULL,
    day        date   NOT NULL,
    facet      text   NOT NULL CHECK (facet IN ('stage', 'state', 'person', 'started')),
    direction  text   NOT NULL,
    value      text   NOT NULL,
    value2     text   NOT NULL DEFAULT '',
    cases      bigint NOT NULL DEFAULT 0,
    open       bigint NOT NULL DEFAULT 0,
    attention  bigint NOT NULL DEFAULT 0,
    recognised bigint NOT NULL DEFAULT 0,
    refused    bigint NOT NULL DEFAULT 0,
    withdrawn  bigint NOT NULL DEFAULT 0,
    -- The day before the facet: a read wants every facet of a range of days of each authority, one range
    -- scan per authority. The key's order is again the order in which a write locks rows.
    PRIMARY KEY (authority, day, facet, direction, value, value2)
);

-- The definitions of 0030's probatio_tally_changes_sql, over any periods: `periods` is the SQL of a VALUES
-- list of one text column over the case row `c`. The one-argument form (months and all time) now calls this
-- one, so every count is defined once for both tables.
CREATE FUNCTION probatio_tally_changes_sql(rows text, periods text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT format($q$
    SELECT c.authority, f.facet, p.period, c.direction, f.value, f.value2,
           sum(c.d) AS cases,
           sum(c.d) FILTER (WHERE c.closed_at IS NULL) AS open,
           sum(c.d) FILTER (WHERE c.closed_at IS NULL AND c.needs_attention) AS attention,
           sum(c.d) FILTER (WHERE c.stage IN ('transferred', 'recognised', 'supervising')
                            OR c.outcome IN ('completed', 'revoked', 'lapsed', 'transferred_back')) AS recognised,
           sum(c.d) FILTER (WHERE c.outcome = 'refused') AS refused,
           sum(c.d) FILTER (WHERE c.outcome = 'withdrawn') AS withdrawn
    FROM (%s) AS c
    CROSS JOIN LATERAL (VALUES %s) AS p(period)
    CROSS JOIN LATERAL (VALUES
        ('stage', c.stage, ''),
        ('state', CASE WHEN c.direction = 'outgoing' THEN c.executing_state ELSE c.issuing_state END, ''),
        ('person', COALESCE(c.person_sex, 'unknown'), COALESCE(c.person_age_group, 'unknown')),
        ('started', '', '')) AS f(facet, value, value2)
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
$q$, rows, periods)
$$;

CREATE OR REPLACE FUNCTION probatio_tally_changes_sql(rows text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT probatio_tally_changes_sql(rows, $p$('all'), (to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM'))$p$)
$$;

-- The day tallies' changes: the same rows with the UTC day ('YYYY-MM-DD') as the period.
CREATE FUNCTION probatio_daily_tally_changes_sql(rows text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT probatio_tally_changes_sql(rows, $p$(to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))$p$)
$$;

-- 0030's trigger function, now keeping both tables in the same transaction as the write of the cases.
-- Lock order: the month tallies' rows first, in key order, then the day tallies' rows, in key order; every
-- write of cases goes through here, so any two lock the rows they share in the same order.
CREATE OR REPLACE FUNCTION probatio_keep_tallies() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
DECLARE
    rows text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT n.*, 1 AS d FROM new_cases AS n'
        WHEN 'DELETE' THEN 'SELECT o.*, -1 AS d FROM old_cases AS o'
        ELSE 'SELECT o.*, -1 AS d FROM old_cases AS o UNION ALL SELECT n.*, 1 AS d FROM new_cases AS n'
    END;
    changed text := 'cases <> 0 OR open <> 0 OR attention <> 0 OR recognised <> 0 OR refused <> 0'
                    ' OR withdrawn <> 0';
BEGIN
    EXECUTE format($q$
        INSERT INTO case_tallies AS t (authority, facet, period, direction, value, value2, cases, open,
                                       attention, recognised, refused, withdrawn)
        SELECT authority, facet, period, direction, value, value2, cases, COALESCE(open, 0),
               COALESCE(attention, 0), COALESCE(recognised, 0), COALESCE(refused, 0), COALESCE(withdrawn, 0)
        FROM (%s) AS changes
        WHERE %s
        ORDER BY authority, facet, period, direction, value, value2
        ON CONFLICT (authority, facet, period, direction, value, value2) DO UPDATE SET
            cases = t.cases + EXCLUDED.cases, open = t.open + EXCLUDED.open,
            attention = t.attention + EXCLUDED.attention, recognised = t.recognised + EXCLUDED.recognised,
            refused = t.refused + EXCLUDED.refused, withdrawn = t.withdrawn + EXCLUDED.withdrawn
    $q$, probatio_tally_changes_sql(rows), changed);
    EXECUTE format($q$
        INSERT INTO case_tallies_daily AS t (authority, day, facet, direction, value, value2, cases, open,
                                             attention, recognised, refused, withdrawn)
        SELECT authority, period::date, facet, direction, value, value2, cases, COALESCE(open, 0),
               COALESCE(attention, 0), COALESCE(recognised, 0), COALESCE(refused, 0), COALESCE(withdrawn, 0)
        FROM (%s) AS changes
        WHERE %s
        ORDER BY authority, period::date, facet, direction, value, value2
        ON CONFLICT (authority, day, facet, direction, value, value2) DO UPDATE SET
            cases = t.cases + EXCLUDED.cases, open = t.open + EXCLUDED.open,
            attention = t.attention + EXCLUDED.attention, recognised = t.recognised + EXCLUDED.recognised,
            refused = t.refused + EXCLUDED.refused, withdrawn = t.withdrawn + EXCLUDED.withdrawn
    $q$, probatio_daily_tally_changes_sql(rows), changed);
    RETURN NULL;
END;
$$;

-- The cases already there (the triggers of 0030 keep calling probatio_keep_tallies, replaced above).
DO $$
BEGIN
    EXECUTE format('INSERT INTO case_tallies_daily (authority, day, facet, direction, value, value2, cases, open,'
                   ' attention, recognised, refused, withdrawn)'
                   ' SELECT authority, period::date, facet, direction, value, value2, cases, COALESCE(open, 0),'
                   ' COALESCE(attention, 0), COALESCE(recognised, 0), COALESCE(refused, 0), COALESCE(withdrawn, 0)'
                   ' FROM (%s) AS changes',
                   probatio_daily_tally_changes_sql('SELECT c.*, 1 AS d FROM cases AS c'));
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON case_tallies_daily FROM probatio_app;
        GRANT SELECT ON case_tallies_daily TO probatio_app;
    END IF;
END;
$$;
