-- The case projection the pages and dashboards read, the audit log, documents and the node link's
-- inbox/outbox. Workflows own the truth about stages and deadlines; activities write it here.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('officer', 'prosecutor', 'supervisor', 'auditor', 'admin')),
    authorities   text[] NOT NULL,
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- API tokens are stored as SHA-256 digests: they are long random secrets, so a slow hash adds nothing.
CREATE TABLE api_tokens (
    token_hash   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

CREATE TABLE cases (
    id              text PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
    authority       text NOT NULL,
    issuing_state   text NOT NULL,
    executing_state text NOT NULL,
    stage           text NOT NULL,
    outcome         text,
    decision_due    timestamptz,
    deadlines       jsonb NOT NULL DEFAULT '[]',
    alerts          jsonb NOT NULL DEFAULT '[]',
    alerts_seen     text[] NOT NULL DEFAULT '{}',
    -- Personal data lives here and in documents only, never in Temporal; retention erases it.
    certificate     jsonb,
    facts           jsonb,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    -- The workflow's own revision of the projection: an older activity retry never overwrites a newer one.
    revision        integer NOT NULL DEFAULT 0
);
CREATE INDEX cases_stage_idx ON cases (direction, stage);
CREATE INDEX cases_authority_idx ON cases (authority, direction, updated_at DESC);
CREATE INDEX cases_decision_due_idx ON cases (decision_due) WHERE decision_due IS NOT NULL;

CREATE TABLE timeline (
    id        bigserial PRIMARY KEY,
    case_id   text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    type      text NOT NULL,
    actor     text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}',
    -- Set by the workflow so that a retried activity records each event once.
    event_key text NOT NULL UNIQUE
);
CREATE INDEX timeline_case_idx ON timeline (case_id, at, id);

-- Free text of actions (reasons, questions, replies): may hold personal data, so it stays out of
-- workflow histories; workflows carry the note id.
CREATE TABLE notes (
    id         text PRIMARY KEY,
    case_id    text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    author     text NOT NULL,
    texts      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    id         bigserial PRIMARY KEY,
    case_id    text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    lang       text NOT NULL,
    media_type text NOT NULL,
    sha256     text NOT NULL,
    content    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, kind, lang, sha256)
);

-- Node link, receiving end: one row per message id; a repeated message gets the first answer again.
CREATE TABLE inbox (
    message_id      text PRIMARY KEY,
    conversation_id text NOT NULL,
    type            text NOT NULL,
    from_state      text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    envelope        jsonb NOT NULL,
    response        jsonb NOT NULL
);
CREATE INDEX inbox_conversation_idx ON inbox (conversation_id, received_at);

-- Node link, sending end: what was sent, how often it was tried, and the peer's answer.
CREATE TABLE outbox (
    message_id      text PRIMARY KEY,
    conversation_id text NOT NULL,
    type            text NOT NULL,
    to_state        text NOT NULL,
    adapter         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    delivered_at    timestamptz,
    last_error      text,
    response        jsonb
);
CREATE INDEX outbox_conversation_idx ON outbox (conversation_id, created_at);

-- The audit log: who read or changed which case, when and why. Append-only, kept five years by policy
-- (Luxembourg's rule for personal data in criminal matters).
CREATE TABLE audit (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    user_name text NOT NULL,
    role      text NOT NULL,
    authority text,
    case_id   text,
    action    text NOT NULL,
    reason    text,
    old_stage text,
    new_stage text,
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_case_idx ON audit (case_id, at);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
