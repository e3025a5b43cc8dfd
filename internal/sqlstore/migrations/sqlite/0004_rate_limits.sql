-- twostep schema, version 4 (SQLite): durable rate limits.
--
-- rate_limits: one fixed-window counter per key ("user:DU...", "ip:...";
-- keys longer than 200 bytes are stored as "sha256:<hex>"). A window starts
-- at the hit that finds no live one and ends at window_end; count is the
-- hits in it, refused ones included. Hits move a row by one conditional
-- INSERT ... ON CONFLICT DO UPDATE ... RETURNING (sqlstore/ratelimits.go),
-- and the reaper deletes rows whose window ended. Times are unix
-- microseconds, like every other time column.

CREATE TABLE rate_limits (
	key          TEXT PRIMARY KEY,
	window_start INTEGER NOT NULL,
	window_end   INTEGER NOT NULL,
	count        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);
