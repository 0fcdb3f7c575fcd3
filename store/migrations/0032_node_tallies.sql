-- The node's own tallies (issue 18, item 1): beside each authority's rows, rows of authority '*' count every
-- case of the node, in both tally tables. A supervisor of most of the node reads the node's rows less those of
-- the few authorities they do not hold (store/tallies.py): in `probatio bench dashboard --national`, the 11
-- whole months of a year from the 10th to the 10th are ~800 node rows where 100 authorities' are ~5,500, and
-- all time is ~270 rows where it was ~6,400.
--
-- Writes: every tallied change adds to the node's rows too, in the same ordered INSERT as the authority's
-- rows ('*' is one more key of the same order), so the lock order of 0030 and 0031 is kept. The node's rows
-- are shared by every write of a tallied fact, each holding them until its transaction ends: at a node's
-- rates (a stage change is a person's decision or a deadline, not a stream) that wait is short.

-- No authority may be called '*'.
ALTER TABLE cases ADD CONSTRAINT cases_authority_not_node CHECK (authority <> '*');

CREATE OR REPLACE FUNCTION probatio_tally_changes_sql(rows text, periods text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
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

-- The node's rows for the cases already there: the sums of the authorities' rows.
INSERT INTO case_tallies (authority, facet, period, direction, value, value2, cases, open, attention, recognised,
                          refused, withdrawn)
SELECT '*', facet, period, direction, value, value2, sum(cases), sum(open), sum(attention), sum(recognised),
       sum(refused), sum(withdrawn)
FROM case_tallies GROUP BY facet, period, direction, value, value2;
INSERT INTO case_tallies_daily (authority, day, facet, direction, value, value2, cases, open, attention,
                                recognised, refused, withdrawn)
SELECT '*', day, facet, direction, value, value2, sum(cases), sum(open), sum(attention), sum(recognised),
       sum(refused), sum(withdrawn)
FROM case_tallies_daily GROUP BY day, facet, direction, value, value2;
