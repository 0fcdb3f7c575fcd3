-- Idempotency-Key on POST /api/v1/transfers: the first answer to a key, kept so that a client retrying
-- after a lost answer gets it again instead of a second transfer. A key belongs to the user who sent it;
-- `request_hash` tells a true retry (same body) from a reuse of the key for another request.
CREATE TABLE idempotency_keys (
    user_name    text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    answer       jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_name, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
