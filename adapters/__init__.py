"""probatio: adapters — how this node reaches other authorities, and how it knows what they sent.

- ``envelope``      the signed message of the node link: ``Envelope``, ``seal``, ``open_envelope``
- ``keys``          the node's Ed25519 key on disk and peers' public keys as text
- ``directory``     which authority serves which state, and through which adapter (YAML)
- ``base``          ``Adapter``, ``OutboundMessage``, ``DeliveryResult``, ``DeliveryError``, the registry
- ``nodelink``      ``"nodelink"``: signed HTTPS POST to a peer probatio node
- ``ecodex``        ``"ecodex"``: the e-CODEX connector client; evidences and incoming messages
- ``ecodex_mapping`` message type → e-CODEX service and action
- ``evidence``      ``Evidence`` of submission, relay, delivery, retrieval, for every channel
- ``rem_evidence``  reading ETSI REM evidence documents
- ``mail``          ``"email"``: SMTP out, .eml / IMAP in
- ``post``          ``"post"``: a print pack, and the officer's dispatch and receipt records
"""
