-- A login session remembers the API token it was opened with, so that revoking the token ends
-- the sessions it opened: a leaked token cannot live on as a browser cookie after revocation.
ALTER TABLE sessions ADD COLUMN token_id bigint REFERENCES api_tokens (id) ON DELETE CASCADE;

-- Sessions opened before sessions knew their token cannot be tied to one: they end here (a
-- user logs in again at most once), and every open session from now on names its token.
UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_open_have_token CHECK (token_id IS NOT NULL OR ended_at IS NOT NULL);

-- Revoking a token and disabling a user end the open sessions of that token or user.
CREATE INDEX sessions_token ON sessions (token_id) WHERE ended_at IS NULL;
