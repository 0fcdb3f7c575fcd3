-- A message id refused for what it is (422: it does not match the catalogue; 403: from a state that is not
-- the case's other party) keeps that answer: the same id sent again, whatever it now carries, gets the first
-- answer, as an accepted one does (inbox). Refusals that depend on the moment (404: no such case yet; 409: not
-- in this stage) are judged afresh, since a message may arrive before the one it follows (e-CODEX does not
-- keep order) and a sender's resend reuses the id. Ids and the reason only: the payload is not kept.
CREATE TABLE inbox_refusals (
    message_id  text PRIMARY KEY,
    from_state  text NOT NULL,
    status      integer NOT NULL CHECK (status IN (403, 422)),
    reason      text NOT NULL,
    refused_at  timestamptz NOT NULL DEFAULT now()
);
