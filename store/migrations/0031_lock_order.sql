-- One lock order for every transaction that writes cases: the audit chain's head first, then the cases'
-- rows, then the tally rows (0030, in their key order). Before, a web request that inserted a case
-- (tally rows locked) and then audited it (the chain's head) could meet a projection write that audited
-- first and then changed a case: each waited for the other and PostgreSQL broke the deadlock with an error
-- (a 500 on POST /api/v1/transfers under load, `probatio bench lifecycle`). Taking the head before any
-- write of cases costs little: nearly every such transaction writes an audit row anyway, which holds the
-- head until it commits.

-- SECURITY DEFINER: the application's role may not lock the head itself (0010), only through here.
CREATE FUNCTION probatio_audit_chain_first() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM 1 FROM audit_chain_head FOR UPDATE;
END;
$$;
REVOKE ALL ON FUNCTION probatio_audit_chain_first() FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'probatio_app') THEN
        GRANT EXECUTE ON FUNCTION probatio_audit_chain_first() TO probatio_app;
    END IF;
END;
$$;

CREATE FUNCTION probatio_audit_chain_first_trigger() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM probatio_audit_chain_first();
    RETURN NULL;
END;
$$;

CREATE TRIGGER cases_audit_chain_first BEFORE INSERT OR UPDATE OR DELETE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION probatio_audit_chain_first_trigger();
