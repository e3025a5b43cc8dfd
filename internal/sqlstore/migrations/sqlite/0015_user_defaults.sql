-- twostep schema, version 15: the default device and method a user
-- chose at the self-service portal; the prompt preselects them.
--
-- users.default_device: a phone id (DP...) or token id (DH...) of the
-- user, or '' for none. users.default_method: push, phone, sms or
-- passcode, or ''. A device removed later is simply not found: the prompt
-- falls back to its usual order.

ALTER TABLE users ADD COLUMN default_device TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN default_method TEXT NOT NULL DEFAULT '';
