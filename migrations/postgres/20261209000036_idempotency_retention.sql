-- Idempotency keys now cover sealing too, whose remembered answers (a sealed PDF's
-- incremental update, say) are larger than an issuance's: a key is kept for 24 hours,
-- as long as a client may retry, and the expired ones are found by their age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
