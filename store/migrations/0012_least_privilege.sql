-- Least privilege (issue 15): `probatio migrate` runs as the owner of the tables; `probatio web` and
-- `probatio worker` log in as a role that is a member of probatio_app, which may read and write the case
-- tables but only add rows to the audit log, and owns nothing, so it cannot alter, disable or drop a table
-- or trigger. (Setting session_replication_role needs a superuser, which it is not.)

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        CREATE ROLE probatio_app NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'role probatio_app not created: %', SQLERRM;
END;
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        RETURN;
    END IF;
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA public TO probatio_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO probatio_app;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO probatio_app;
    -- Tables that later migrations create get the same grants (the owner runs every migration).
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO probatio_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO probatio_app;
    -- The audit log: read and add, nothing else. Its chain's end and checkpoints: read (verify), never written.
    REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM probatio_app;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_chain_head FROM probatio_app;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM probatio_app;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM probatio_app;
    REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM probatio_app;
END;
$$;
