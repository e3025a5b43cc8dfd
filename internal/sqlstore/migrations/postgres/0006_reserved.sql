-- twostep schema, version 6: a placeholder on branch h-oidc only.
--
-- Version 6 belongs to the web foundation (0006_sessions.sql, branch h-web);
-- migrations must be numbered without gaps, so this branch carries an empty
-- stand-in for it. DELETE THIS FILE (in both dialects) when merging h-oidc
-- after h-web: the migrator refuses two migrations numbered 6.
SELECT 1;
