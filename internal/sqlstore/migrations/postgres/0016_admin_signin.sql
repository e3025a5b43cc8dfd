-- twostep schema, version 16 (PostgreSQL): administrators' console sign-in.
--
-- password_change_required: choose a new password at the next sign-in
-- (the bootstrap Owner). failed_logins / locked_at: failed sign-ins since
-- the last success and when they reached the lockout threshold (NULL: not
-- locked out). totp_secret: the administrator's own TOTP secret, sealed
-- like every secret at rest; totp_last_step: the last accepted time step
-- (a code of it or an earlier step is a replay); totp_confirmed: a code
-- was accepted once, so enrolment is complete.

ALTER TABLE admins ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE admins ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN locked_at TIMESTAMPTZ;
ALTER TABLE admins ADD COLUMN totp_secret BYTEA;
ALTER TABLE admins ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN totp_confirmed BOOLEAN NOT NULL DEFAULT FALSE;
