-- An anchor the application's role adds must vouch for what is there (issue 15 item 3): the row it names
-- exists with that hash, and it is made now, not backdated. So a junk or backdated checkpoint cannot be slipped
-- in beside the real ones; the owner's maintenance steps (`pruned`, and anchors of rows it pruned since)
-- stay the owner's. What it adds is still only believed with the node's signature (`probatio audit verify`).
CREATE OR REPLACE FUNCTION audit_checkpoint_by_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_has_role(current_user, (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_checkpoints'),
                   'USAGE') THEN
        RETURN NEW;
    END IF;
    IF NEW.kind <> 'anchor' THEN
        RAISE EXCEPTION 'only the owner writes a % checkpoint', NEW.kind USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'an anchor names a row of the audit chain as it is: no row % has that hash', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.made_at < now() - interval '1 hour' OR NEW.made_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'an anchor is made now, not at %', NEW.made_at USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
