"""The intake: everything that arrives from another authority, whatever the channel (node link, e-CODEX
poll, an e-mail or a posted envelope an officer uploads), comes in here and only here.

verify → de-duplicate → parse against the catalogue → bind to its case → store → only then signal.

- verify: the sender's Ed25519 signature over the exact bytes, the size, the addressee, the time window
  (adapters.envelope.open_envelope);
- de-duplicate: a message id already taken in, or refused for what it is (422, 403), gets its first answer
  again, and nothing happens twice; a refusal for the moment (404, 409) is judged afresh;
- parse: the payload must be the message's model in `forms.messages` (types, limits, no U+0000);
- bind: `to_state` is this node; a `certificate` opens only a new conversation; any other message refers
  to an existing case, comes from that case's other party, and is acceptable in the case's current stage;
- store, then signal the case's workflow (or start it, for a certificate): the message is committed before
  the workflow hears of it, so whatever the workflow then reads is there. If the workflow cannot be told (Temporal
  does not answer), the message stays kept with what its workflow is to be told; the sender is asked to send it
  again (503), and the node hands it over by itself once Temporal answers (`hand_over_kept`, from the worker),
  whichever comes first; a workflow takes a message id once.

Anything else is refused with a 4xx naming the reason, recorded for the auditor, and changes nothing.

Delivery evidence (the e-CODEX connector's, or a letter's receipt an officer records) comes in here too
(intake/evidence.py): bound to the case whose outbox holds the message it names, and only then signalled.
"""

from __future__ import annotations

from intake.receive import HandOverPending, IntakeRefused, accept_sealed, hand_over_kept, take_in

__all__ = ["HandOverPending", "IntakeRefused", "accept_sealed", "hand_over_kept", "take_in"]
