-- A tamper-evident audit log (issue 15): every row carries the SHA-256 of the previous row's hash and its
-- own content, so a row changed, deleted or slipped in later by someone who got past the grants and the
-- append-only triggers (a superuser) breaks the chain, and `probatio audit verify` names where.
-- Also: why a row was written (its purpose: case work, decision, supervision, audit, subject access).

ALTER TABLE audit ADD COLUMN purpose text;
ALTER TABLE audit ADD COLUMN seq bigint;
ALTER TABLE audit ADD COLUMN prev_hash bytea;
ALTER TABLE audit ADD COLUMN hash bytea;

-- The end of the chain, one row. Each insert locks it until its transaction ends, so chained rows follow
-- each other in commit order and a rolled-back insert leaves no gap. Only the owner touches it (through
-- the trigger below, which runs with the owner's rights); the application's role may only read it.
CREATE TABLE audit_chain_head (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    seq      bigint NOT NULL,
    hash     bytea NOT NULL
);

-- Signed checkpoints. `pruned`: rows up to `seq` were deleted after the five years (`probatio audit
-- prune`), the chain now starts after `hash`. `anchor`: the node's key vouches for the chain up to `seq`,
-- so rewriting older rows consistently is caught too. Signed with the node's Ed25519 key.
CREATE TABLE audit_checkpoints (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('pruned', 'anchor')),
    seq          bigint NOT NULL,
    hash         bytea NOT NULL,
    rows_deleted bigint NOT NULL DEFAULT 0,
    made_at      timestamptz NOT NULL DEFAULT now(),
    signed_by    text NOT NULL,
    signature    text NOT NULL
);

-- What a row's hash covers: its place in the chain, when, who, what, why, and the previous hash. The time
-- as whole microseconds since 1970 and jsonb's canonical text: the same bytes whatever the session's
-- time zone or the order the detail's keys were written in.
CREATE FUNCTION audit_row_hash(prev bytea, a audit) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(jsonb_build_array(
        a.seq, (extract(epoch FROM a.at) * 1000000)::bigint, a.user_name, a.role, a.authority, a.case_id,
        a.action, a.reason, a.purpose, a.old_stage, a.new_stage, a.detail)::text, 'UTF8'))
$$;

CREATE FUNCTION audit_genesis() RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to('probatio audit log', 'UTF8'))
$$;

-- Existing rows join the chain in the order they were written.
ALTER TABLE audit DISABLE TRIGGER audit_no_update;
DO $$
DECLARE
    r audit;
    prev bytea := audit_genesis();
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit ORDER BY id LOOP
        n := n + 1;
        r.seq := n;
        r.prev_hash := prev;
        r.hash := audit_row_hash(prev, r);
        UPDATE audit SET seq = r.seq, prev_hash = r.prev_hash, hash = r.hash WHERE id = r.id;
        prev := r.hash;
    END LOOP;
    INSERT INTO audit_chain_head (seq, hash) VALUES (n, prev);
END;
$$;
ALTER TABLE audit ENABLE TRIGGER audit_no_update;

ALTER TABLE audit ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit ALTER COLUMN prev_hash SET NOT NULL;
ALTER TABLE audit ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX audit_seq_idx ON audit (seq);

-- Every insert, whoever writes it, is chained here: no writer can skip or choose its hash. The time is
-- the database's clock when the row joins the chain, so nobody writes a backdated row through the front
-- door either. SECURITY DEFINER: the application's role may insert rows but never touch the head itself.
CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
    head audit_chain_head;
BEGIN
    SELECT * INTO head FROM audit_chain_head FOR UPDATE;
    NEW.at := clock_timestamp();
    NEW.seq := head.seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := audit_row_hash(head.hash, NEW);
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION audit_chain() FROM PUBLIC;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_chain();
