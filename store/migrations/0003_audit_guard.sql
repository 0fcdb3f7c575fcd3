-- The audit log stays append-only also for a database role that is not the owner: the application's
-- role may read and add rows, never change or remove them (the 0001 triggers stop even the owner).
-- Rows are kept at least five years (Luxembourg's rule, seeds/luxembourg-ced-report-2024.txt):
-- retention never touches this table.

REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        CREATE ROLE probatio_app NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    -- A managed PostgreSQL may not let the migrating user create roles; the triggers still hold.
    RAISE NOTICE 'role probatio_app not created: %', SQLERRM;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON cases, timeline, notes, documents, inbox, outbox, users,
            api_tokens, web_sessions, transfer_drafts TO probatio_app;
        GRANT SELECT, INSERT ON audit TO probatio_app;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM probatio_app;
        GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO probatio_app;
    END IF;
END;
$$;

-- The auditor's page filters by person, action and time.
CREATE INDEX audit_at_idx ON audit (at DESC, id DESC);
CREATE INDEX audit_user_idx ON audit (user_name, at DESC);
