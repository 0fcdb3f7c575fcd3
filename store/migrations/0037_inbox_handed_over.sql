-- Store, then signal (issue 12): the intake commits a message before the case's workflow hears of it, so a
-- workflow never acts on a message the inbox does not hold (an activity reading it finds it). `handed_over`
-- says the workflow was told; a message stored and not yet handed over (the signal failed after the commit)
-- is handed over when the same id arrives again, as a sender's retry does. Rows before this were handed over.
ALTER TABLE inbox ADD COLUMN handed_over boolean NOT NULL DEFAULT true;
