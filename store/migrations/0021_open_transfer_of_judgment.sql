-- Art 6(5): one executing state at a time. Creating a transfer looks for an open outgoing case of the same
-- judgment (store/cases.py open_transfer_of_judgment); the open outgoing cases are found by the judgment's date.
CREATE INDEX cases_open_judgment_idx ON cases (issuing_state, ((certificate->'judgment'->>'delivered_on')))
    WHERE direction = 'outgoing' AND closed_at IS NULL;
