-- What the case's workflow is to be told of a message stored and not yet handed over (0037): the message as
-- the workflow takes it (workflows.model.LinkMessage, structured fields only). The node hands such a message
-- over by itself once Temporal answers again (intake.receive.hand_over_kept), without waiting for the sender
-- to send it again: a letter or an e-mail an officer uploaded is not sent again by anyone.
ALTER TABLE inbox ADD COLUMN hand_over jsonb;
CREATE INDEX inbox_not_handed_over_idx ON inbox (received_at) WHERE NOT handed_over;
