-- twostep schema, version 8 (SQLite): delivery status of SMS and calls.
--
-- telephony_log.carrier_id: the carrier's id of the message or call
-- (Twilio's MessageSid or CallSid, the webhook's call_id or the id its
-- answer named), '' when the carrier gave none. telephony_log.status: the
-- carrier's latest reported status in Twilio's words ('' until a status
-- callback arrives). A status only moves forward in the lifecycle
-- (sqlstore/logs.go SetTelephonyStatus: one conditional UPDATE), so a late
-- "sent" never overwrites "delivered". Status callbacks find the record by
-- carrier_id.

ALTER TABLE telephony_log ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE telephony_log ADD COLUMN carrier_id TEXT NOT NULL DEFAULT '';
CREATE INDEX telephony_log_carrier_id ON telephony_log (carrier_id);
