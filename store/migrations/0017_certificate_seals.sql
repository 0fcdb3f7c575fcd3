-- The receiving node's check of the electronic seal on each certificate PDF it received (adapters/seal.py):
-- one row per document (case and content digest), written in the receipt's transaction. The signer is
-- the seal certificate's subject (an authority, not a person); retention erases the case and this with it.

CREATE TABLE certificate_seals (
    case_id    text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    sha256     text NOT NULL,
    status     text NOT NULL CHECK (status IN ('valid', 'invalid', 'untrusted', 'unsigned')),
    signer     text,
    signed_at  timestamptz,
    detail     text NOT NULL DEFAULT '',
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, sha256)
);
