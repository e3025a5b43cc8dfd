-- twostep schema, version 12 (SQLite): phones' extension dial delays.
--
-- phones.predelay / phones.postdelay: Duo's phone parameters, whole
-- seconds waited after a call is answered before dialling the phone's
-- extension, and after dialling it before speaking. NULL: not set, the
-- carrier's configured delay applies.

ALTER TABLE phones ADD COLUMN predelay INTEGER;
ALTER TABLE phones ADD COLUMN postdelay INTEGER;
