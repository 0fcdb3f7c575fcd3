-- Art 17: an open case whose breach report waits for the issuing state's decision (the workflow's
-- `breach_reported` alert) is listed on the dashboard, oldest first; a handful at most per authority, read
-- from this index alone as the other dashboard lists are from theirs.
CREATE INDEX cases_breach_reported_idx ON cases (authority, updated_at, id)
    WHERE closed_at IS NULL AND alerts ? 'breach_reported';
