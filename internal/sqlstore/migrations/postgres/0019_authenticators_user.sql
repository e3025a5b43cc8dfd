-- twostep schema, version 19 (PostgreSQL): an index on authenticators by user.
--
-- A 6-digit passcode login reads the user's recently revoked installs
-- (LoginAccount, RevokedAuthenticators): those their user_id names, and
-- those on their phones. Without an index on user_id that read scanned
-- every revoked install of every user on each login; with it, both halves
-- are index searches (authenticators_phone covers the phones).

CREATE INDEX authenticators_user ON authenticators (user_id, status);
