-- Indexes for the dashboard and the lists at a million cases (bench/dashboard.py measures them).
-- Every read is bounded by the user's authorities, so each index leads with the authority.

-- Counts by stage and by state: answered from the index alone (an index-only scan).
CREATE INDEX cases_authority_stage_idx ON cases (authority, direction, stage, issuing_state, executing_state);

-- Lists filtered by stage, newest first (GET /api/v1/transfers?stage=…).
CREATE INDEX cases_authority_stage_updated_idx ON cases (authority, direction, stage, updated_at DESC, id);

-- Decisions due soon and overdue duties: only open cases, a small part of a node's history.
CREATE INDEX cases_open_due_idx ON cases (authority, decision_due) WHERE closed_at IS NULL;
