-- What a sent message said (its payload without the bytes of documents, which stay in `documents`): the
-- conversation panel of the case page and the API detail show every message in full, both ways. The inbox
-- keeps its envelopes whole already. Rows sent before this migration have none and show their label only.
ALTER TABLE outbox ADD COLUMN payload jsonb;
