-- The dashboard's counts of open cases due soon and needing attention, read from the index alone: the
-- heap of a busy authority's open cases is spread over as many pages as it has cases.
CREATE INDEX cases_open_due_cover_idx ON cases (authority, decision_due) INCLUDE (needs_attention)
    WHERE closed_at IS NULL;
DROP INDEX cases_open_due_idx;

-- Lists newest first without a stage filter, with the id that breaks ties, so that each authority's
-- first page is read in order from the index (store/cases.py, one authority at a time).
CREATE INDEX cases_authority_updated_idx ON cases (authority, direction, updated_at DESC, id);
DROP INDEX cases_authority_idx;
