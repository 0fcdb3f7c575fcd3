-- The dashboard at national scale (issue 18, item 1): its counts by stage, partner state, month, sex and
-- age group come from tallies, not from a scan of every case. A national supervisor's authorities hold a
-- million cases; the tallies of all of them are a few thousand rows.
--
-- case_tallies: one row counts the cases of one authority and direction that share one value of one facet,
-- over one period: every case started in the UTC month `period` ('YYYY-MM'), or over all time (`period` = 'all').
--   facet 'stage'   value = the stage
--   facet 'state'   value = the partner state (executing state of an outgoing case, issuing of an incoming)
--   facet 'person'  value = sex, value2 = age group (anonymous facts, 0006)
--   facet 'started' value = '' (how many started: the chart per month)
-- Beside the number of cases, each row counts those still open, open and needing attention (0020), and
-- those recognised, refused and withdrawn (the statistics per state, store/statistics.py).
--
-- case_tallies_daily: the same per UTC day, for a period that is not whole months. Its whole days at either
-- end come from day tallies, not from a count over the cases started on them: a national supervisor's year
-- from the 10th to the 10th has some 30 such days, about 10,000 cases at a million cases; grouping them took
-- ~25 ms, their day tallies are a few hundred to a few thousand rows. Only what is left of a day (a period
-- starting or ending at a time that is not midnight UTC) is counted from the cases
-- (probatio_tallies_started_between, below).
--
-- The node's own rows: beside each authority's rows, rows of authority '*' count every case of the node, in
-- both tables. A supervisor of most of the node reads the node's rows less those of the few authorities they
-- do not hold (store/tallies.py): in `probatio bench dashboard --national`, the 11 whole months of a year
-- from the 10th to the 10th are ~800 node rows where 100 authorities' are ~5,500, and all time is ~270 rows
-- where it was ~6,400.

CREATE TABLE case_tallies (
    authority  text   NOT NULL,
    facet      text   NOT NULL CHECK (facet IN ('stage', 'state', 'person', 'started')),
    period     text   NOT NULL CHECK (period = 'all' OR period ~ '^\d{4}-\d{2}$'),
    direction  text   NOT NULL,
    value      text   NOT NULL,
    value2     text   NOT NULL DEFAULT '',
    cases      bigint NOT NULL DEFAULT 0,
    open       bigint NOT NULL DEFAULT 0,
    attention  bigint NOT NULL DEFAULT 0,
    recognised bigint NOT NULL DEFAULT 0,
    refused    bigint NOT NULL DEFAULT 0,
    withdrawn  bigint NOT NULL DEFAULT 0,
    -- The key's order is the order in which a write locks rows (below), and the order reads want: one
    -- authority's facet over all time, or over a range of months.
    PRIMARY KEY (authority, facet, period, direction, value, value2)
);
-- The node's own totals over all time (how much of the node a user's authorities hold: store/cases.py).
CREATE INDEX case_tallies_node_idx ON case_tallies (facet, direction, value) INCLUDE (authority, cases, open)
    WHERE period = 'all';

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

-- No authority may be called '*'.
ALTER TABLE cases ADD CONSTRAINT cases_authority_not_node CHECK (authority <> '*');

-- What a set of case rows adds to the tallies, as (key, counts) rows, each key once, in key order. `rows` is
-- a query over cases with an extra column `d` (+1 for a row that now exists, -1 for one that no longer
-- does); `periods` is the SQL of a VALUES list of one text column over the case row `c`. Each case counts
-- for its authority and for the node ('*'). The definitions here are the ones the dashboard's fallback query
-- repeats (probatio_tallies_started_between, store/statistics.py).
CREATE FUNCTION probatio_tally_changes_sql(rows text, periods text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT format($q$
    SELECT a.authority, f.facet, p.period, c.direction, f.value, f.value2,
           sum(c.d) AS cases,
           sum(c.d) FILTER (WHERE c.closed_at IS NULL) AS open,
           sum(c.d) FILTER (WHERE c.closed_at IS NULL AND c.needs_attention) AS attention,
           sum(c.d) FILTER (WHERE c.stage IN ('transferred', 'recognised', 'supervising')
                            OR c.outcome IN ('completed', 'revoked', 'lapsed', 'transferred_back')) AS recognised,
           sum(c.d) FILTER (WHERE c.outcome = 'refused') AS refused,
           sum(c.d) FILTER (WHERE c.outcome = 'withdrawn') AS withdrawn
    FROM (%s) AS c
    CROSS JOIN LATERAL (VALUES (c.authority), ('*')) AS a(authority)
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

-- The month tallies' changes: over all time and the UTC month ('YYYY-MM').
CREATE FUNCTION probatio_tally_changes_sql(rows text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT probatio_tally_changes_sql(rows, $p$('all'), (to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM'))$p$)
$$;

-- The day tallies' changes: the same rows with the UTC day ('YYYY-MM-DD') as the period.
CREATE FUNCTION probatio_daily_tally_changes_sql(rows text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT probatio_tally_changes_sql(rows, $p$(to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))$p$)
$$;

-- Kept exact in the same transaction as every write of a case (the projection, a new case, a correction of
-- the certificate, a reassignment, a deleted draft): one statement-level trigger per kind of write reads
-- the rows it changed before and after, and adds the difference. A write that changes no tallied fact
-- (most projection writes: deadlines, alerts) adds nothing and locks no tally row.
--
-- Lock order: each write adds its changes to the month tallies, then to the day tallies, each in one
-- INSERT … ON CONFLICT DO UPDATE whose rows come in key order ('*' is one more key of the same order), so any
-- two writes lock the tally rows they share in the same order and cannot deadlock on them (and 0031 has every
-- write of cases take the audit chain's head before anything else). The node's rows are shared by every write
-- of a tallied fact, each holding them until its transaction ends: at a node's rates (a stage change is a
-- person's decision or a deadline, not a stream) that wait is short.
-- SECURITY DEFINER: the app's role (0012) may read the tallies but not write them; only this function does.
CREATE FUNCTION probatio_keep_tallies() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

CREATE TRIGGER cases_tallies_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION probatio_keep_tallies();
CREATE TRIGGER cases_tallies_update AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_cases NEW TABLE AS new_cases
    FOR EACH STATEMENT EXECUTE FUNCTION probatio_keep_tallies();
CREATE TRIGGER cases_tallies_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases
    FOR EACH STATEMENT EXECUTE FUNCTION probatio_keep_tallies();

-- The cases already there, counted for their authorities and for the node. (TRUNCATE of cases is not granted
-- to the app, 0012; an owner who truncates it truncates the tallies too.)
DO $$
DECLARE
    counts text := 'cases, COALESCE(open, 0), COALESCE(attention, 0), COALESCE(recognised, 0),'
                   ' COALESCE(refused, 0), COALESCE(withdrawn, 0)';
    every_case text := 'SELECT c.*, 1 AS d FROM cases AS c';
BEGIN
    EXECUTE format('INSERT INTO case_tallies (authority, facet, period, direction, value, value2, cases, open,'
                   ' attention, recognised, refused, withdrawn)'
                   ' SELECT authority, facet, period, direction, value, value2, %s FROM (%s) AS changes',
                   counts, probatio_tally_changes_sql(every_case));
    EXECUTE format('INSERT INTO case_tallies_daily (authority, day, facet, direction, value, value2, cases, open,'
                   ' attention, recognised, refused, withdrawn)'
                   ' SELECT authority, period::date, facet, direction, value, value2, %s FROM (%s) AS changes',
                   counts, probatio_daily_tally_changes_sql(every_case));
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON case_tallies, case_tallies_daily FROM probatio_app;
        GRANT SELECT ON case_tallies, case_tallies_daily TO probatio_app;
    END IF;
END;
$$;

-- The same tallies counted from the cases started in [since, until), for the days of a period that are not
-- whole months (store/tallies.py): the value facets over those days (period 'all') and the count per month
-- ('started'). One pass over cases_started_idx (below), an index-only scan per authority, grouped four ways
-- at once. The definitions are those of probatio_tally_changes_sql; tests/store/test_tallies.py holds the two
-- to the same answers.
CREATE FUNCTION probatio_tallies_started_between(authorities text[], since timestamptz, until timestamptz)
    RETURNS SETOF case_tallies LANGUAGE sql STABLE AS $$
    SELECT authority,
           CASE WHEN stage IS NOT NULL THEN 'stage' WHEN state IS NOT NULL THEN 'state'
                WHEN sex IS NOT NULL THEN 'person' ELSE 'started' END,
           COALESCE(month, 'all'), direction, COALESCE(stage, state, sex, ''), COALESCE(age_group, ''),
           count(*), count(*) FILTER (WHERE open), count(*) FILTER (WHERE open AND needs_attention),
           count(*) FILTER (WHERE recognised), count(*) FILTER (WHERE outcome = 'refused'),
           count(*) FILTER (WHERE outcome = 'withdrawn')
    FROM (SELECT authority, direction, stage, outcome, needs_attention, closed_at IS NULL AS open,
                 CASE WHEN direction = 'outgoing' THEN executing_state ELSE issuing_state END AS state,
                 COALESCE(person_sex, 'unknown') AS sex, COALESCE(person_age_group, 'unknown') AS age_group,
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
                 stage IN ('transferred', 'recognised', 'supervising')
                     OR outcome IN ('completed', 'revoked', 'lapsed', 'transferred_back') AS recognised
          FROM cases WHERE authority = ANY(authorities) AND created_at >= since AND created_at < until) AS c
    GROUP BY GROUPING SETS ((authority, direction, stage), (authority, direction, state),
                            (authority, direction, sex, age_group), (authority, direction, month))
$$;

-- A period that is not whole months: its first and last days are counted from the cases themselves, from
-- this index alone (an index-only scan per authority over the days asked for); it replaces 0006's index,
-- which led with the authority only.
CREATE INDEX cases_started_idx ON cases (authority, created_at) INCLUDE (direction, issuing_state, executing_state,
    stage, outcome, closed_at, person_sex, person_age_group, needs_attention);
DROP INDEX cases_statistics_idx;

-- "Due within 15 days" is a count the clock moves, so no tally holds it: two index-only range scans per
-- authority, one over decisions and one over duties (the second skips cases the first counted).
CREATE INDEX cases_open_due_count_idx ON cases (authority, decision_due) INCLUDE (next_duty_due, created_at)
    WHERE closed_at IS NULL;
CREATE INDEX cases_open_duty_count_idx ON cases (authority, next_duty_due) INCLUDE (decision_due, created_at)
    WHERE closed_at IS NULL AND next_duty_due IS NOT NULL;
DROP INDEX cases_open_due_cover_idx;
DROP INDEX cases_open_duty_due_idx;

-- A supervisor of many authorities: the first page of a list, and of the dashboard's lists, read in order
-- over the whole node, keeping the user's authorities (store/cases.py chooses this or one scan per
-- authority from the tallies).
CREATE INDEX cases_direction_updated_idx ON cases (direction, updated_at DESC, id);
CREATE INDEX cases_direction_stage_updated_idx ON cases (direction, stage, updated_at DESC, id);
CREATE INDEX cases_open_decision_due_idx ON cases (decision_due, id) WHERE closed_at IS NULL;
CREATE INDEX cases_open_duty_due_order_idx ON cases (next_duty_due, id) WHERE closed_at IS NULL
    AND next_duty_due IS NOT NULL;
CREATE INDEX cases_open_attention_idx ON cases (decision_due, id) WHERE closed_at IS NULL AND needs_attention;
