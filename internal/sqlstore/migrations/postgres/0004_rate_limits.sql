-- twostep schema, version 4 (PostgreSQL): durable rate limits.
--
-- rate_limits: one fixed-window counter per key ("user:DU...", "ip:...";
-- keys longer than 200 bytes are stored as "sha256:<hex>"), shared by every
-- node. A window starts at the hit that finds no live one and ends at
-- window_end; count is the hits in it, refused ones included. Hits move a
-- row by one conditional INSERT ... ON CONFLICT DO UPDATE ... RETURNING
-- (sqlstore/ratelimits.go), which READ COMMITTED makes exact under
-- concurrency, and the reaper deletes rows whose window ended. Most hits
-- change only count, so the table leaves room on its pages for HOT updates.

CREATE TABLE rate_limits (
	key          TEXT COLLATE "C" NOT NULL CONSTRAINT rate_limits_pkey PRIMARY KEY,
	window_start TIMESTAMPTZ NOT NULL,
	window_end   TIMESTAMPTZ NOT NULL,
	count        BIGINT NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);
