-- The pages: signed-in sessions and the officer's autosaved certificate drafts.

-- A session cookie carries a random secret; only its SHA-256 digest is stored, like API tokens, so a
-- copy of the database does not let anyone sign in. The CSRF token is per session (synchroniser token).
CREATE TABLE web_sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    via         text NOT NULL DEFAULT 'password',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX web_sessions_expiry_idx ON web_sessions (expires_at);

-- A certificate being filled in the wizard, box by box. It is not a case yet (no workflow, no
-- deadline), but it holds personal data: it belongs to an authority and retention removes stale ones.
CREATE TABLE transfer_drafts (
    id              text PRIMARY KEY,
    authority       text NOT NULL,
    created_by      text NOT NULL,
    executing_state text,
    certificate     jsonb NOT NULL DEFAULT '{}',
    case_id         text REFERENCES cases (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfer_drafts_authority_idx ON transfer_drafts (authority, updated_at DESC);
