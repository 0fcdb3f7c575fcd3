-- Sign-in and tokens (issue 15): API tokens expire, brute force is slowed then locked, and an auditor
-- reads beyond their own authorities only when made node-wide on purpose.

-- Tokens made before expiry existed get the default lifetime from now, so nobody is locked out by the upgrade.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
UPDATE api_tokens SET expires_at = now() + interval '90 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- `probatio users create NAME --role auditor --node-wide`: the audit log and the export of data about a
-- person across every authority of the node. Only an auditor may be node-wide.
ALTER TABLE users ADD COLUMN node_wide boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT users_node_wide_auditor CHECK (NOT node_wide OR role = 'auditor');

-- Failed sign-ins per user name and per address: back-off after a few, a temporary lock after more.
CREATE TABLE sign_in_failures (
    key           text PRIMARY KEY,           -- 'user:NAME' or 'address:IP'
    failures      integer NOT NULL DEFAULT 0,
    last_failure  timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz
);
