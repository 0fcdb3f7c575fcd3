-- Art 6(3): the prosecutor who returned a transfer approves the corrected certificate knowing what the officer
-- changed since. The certificate as it stood when the prosecutor returned it (what they last saw) is kept
-- beside the corrected one: set by the first correction after a return (store.cases.correct_certificate), kept
-- while the transfer is in draft and awaiting approval, and cleared by the projection when it leaves them (the
-- approval sends it) or comes back to draft (a new return: the prosecutor has now seen the correction). NULL:
-- nothing corrected since a return. The application's role writes it through its grants on `cases` (0012),
-- which cover a column added later; nothing to grant.
ALTER TABLE cases ADD COLUMN certificate_before_correction jsonb;
