-- Art 6(1): the judgment, the probation decision and other documents attached to a transfer share the
-- documents table with the rendered certificates. An attached document has an id that travels with it
-- (the executing node keeps the same id and sha256), the name it was uploaded under, and its size.
ALTER TABLE documents ADD COLUMN doc_id text;
ALTER TABLE documents ADD COLUMN filename text;
ALTER TABLE documents ADD COLUMN size bigint;
ALTER TABLE documents ADD COLUMN added_by text;
CREATE UNIQUE INDEX documents_doc_id_idx ON documents (case_id, doc_id) WHERE doc_id IS NOT NULL;
