-- Anchors of the audit chain (issue 15 item 3): the nightly check signs the chain's end as it found it intact
-- (`anchor`, 0010), so that rows cut from the end afterwards, with the chain's end rewritten to match, are
-- caught by `probatio audit verify`. The application's role may add a checkpoint, never change or remove
-- one; what it adds is only believed with the node's signature.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        GRANT INSERT ON audit_checkpoints TO probatio_app;
        GRANT USAGE ON SEQUENCE audit_checkpoints_id_seq TO probatio_app;
    END IF;
END;
$$;
-- Only an anchor may come from the application; a `pruned` checkpoint stays the owner's maintenance step.
CREATE FUNCTION audit_checkpoint_by_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind <> 'anchor' AND NOT pg_has_role(current_user, (SELECT tableowner FROM pg_tables
                                                              WHERE tablename = 'audit_checkpoints'), 'USAGE') THEN
        RAISE EXCEPTION 'only the owner writes a % checkpoint', NEW.kind USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_checkpoints_kind BEFORE INSERT ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_by_owner();
