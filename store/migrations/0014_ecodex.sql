-- e-CODEX: what the node's connector-client poller fetched and what it answered.
--
-- The connector client marks a message "delivered to the back end" before it answers the list request and
-- never lists it again, so every fetched message is written here first, then taken in one by one: a crash
-- or an error on one message loses none (adapters/ecodex.py, activities/ecodex.py).
CREATE TABLE ecodex_incoming (
    ebms_message_id      text PRIMARY KEY,
    connector_url        text NOT NULL,
    action               text,
    conversation_id      text,
    fetched_at           timestamptz NOT NULL DEFAULT now(),
    -- The message as the client sent it (files in base64) until it is taken in or refused; then erased,
    -- since the inbox keeps the envelope and the documents are kept with the case.
    message              jsonb,
    state                text NOT NULL DEFAULT 'fetched' CHECK (state IN ('fetched', 'taken_in', 'refused')),
    message_id           text,           -- our envelope's id, once opened
    reason               text,           -- why it was refused (NON_RETRIEVAL)
    attempts             integer NOT NULL DEFAULT 0,  -- intake attempts that failed for a passing reason
    -- The sending connector's trust-OK token (adapters/trust_token.py): colour and levels, and the PDF.
    trust                jsonb,
    trust_pdf            bytea,
    -- The evidences we asked our connector to send back, once it took the request.
    delivery_sent_at     timestamptz,
    answer               text CHECK (answer IN ('RETRIEVAL', 'NON_RETRIEVAL')),
    answer_sent_at       timestamptz
);
CREATE INDEX ecodex_incoming_pending_idx ON ecodex_incoming (fetched_at)
    WHERE state = 'fetched' OR delivery_sent_at IS NULL OR (answer IS NOT NULL AND answer_sent_at IS NULL);
CREATE INDEX ecodex_incoming_conversation_idx ON ecodex_incoming (conversation_id);

-- Evidences about our own messages already passed to their case's workflow: the client lists a message
-- again, with all its evidences, every time it becomes CONFIRMED or REJECTED.
CREATE TABLE ecodex_evidence (
    ebms_message_id      text NOT NULL,  -- one submission of our message
    confirmation_type    text NOT NULL,
    message_id           text NOT NULL,
    event_at             timestamptz NOT NULL,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    document             text,
    PRIMARY KEY (ebms_message_id, confirmation_type)
);
CREATE INDEX ecodex_evidence_message_idx ON ecodex_evidence (message_id);
