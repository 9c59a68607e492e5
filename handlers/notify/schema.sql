-- The notices' store: one file, so that a commit read from the log and everything it causes
-- (outbox rows, reminders, the reactions' view of the meeting, the checkpoint) are written in one
-- transaction. Times are Unix milliseconds (UTC).

-- The last log sequence whose commit has been turned into notices, and the horizon: the log's
-- last sequence when this file was created. Commits up to the horizon build the reactions' view
-- and reminders but send nothing, so a new file on an old log does not send its history again.
CREATE TABLE IF NOT EXISTS checkpoint (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	seq     INTEGER NOT NULL,
	horizon INTEGER NOT NULL DEFAULT 0
);

-- What the reactions need to know of a meeting: its citizen, status and time. No title, no
-- agenda, no address: nothing here is ever put in a notice but the time and the kind of place.
CREATE TABLE IF NOT EXISTS meetings (
	meeting   TEXT PRIMARY KEY,
	citizen   TEXT NOT NULL,
	status    TEXT NOT NULL,
	at        INTEGER NOT NULL DEFAULT 0,  -- 0: not scheduled
	place     TEXT NOT NULL DEFAULT '',
	schedules INTEGER NOT NULL DEFAULT 0,  -- how often the time was set: the calendar SEQUENCE
	sched_seq INTEGER NOT NULL DEFAULT 0   -- the log sequence that last set the time
);

-- Who is invited, and whether they declined or were withdrawn.
CREATE TABLE IF NOT EXISTS invitees (
	meeting   TEXT NOT NULL,
	person    TEXT NOT NULL,
	declined  INTEGER NOT NULL DEFAULT 0,
	withdrawn INTEGER NOT NULL DEFAULT 0,
	-- how often the invitation was withdrawn: each withdrawal's CANCEL raises the SEQUENCE of
	-- the invitee's UID for good, so a new invitation after it must rise above it
	withdrawals INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (meeting, person)
);

-- The outbox: one row per notice, keyed by (event sequence, recipient, kind), written before
-- anything is sent. state: pending (to send), sent, inbox (no address, or opted out: it waits on
-- the person's inbox page), failed (gave up after the retries).
CREATE TABLE IF NOT EXISTS outbox (
	id           INTEGER PRIMARY KEY,
	seq          INTEGER NOT NULL,
	recipient    TEXT NOT NULL,
	kind         TEXT NOT NULL,
	meeting      TEXT NOT NULL,
	at           INTEGER NOT NULL DEFAULT 0,   -- the meeting's time the notice is about, if any
	place        TEXT NOT NULL DEFAULT '',
	cal_seq      INTEGER NOT NULL DEFAULT -1,  -- the calendar part's SEQUENCE; -1: no calendar part
	due          TEXT NOT NULL DEFAULT '',     -- a follow-up's due date (YYYY-MM-DD)
	created      INTEGER NOT NULL,             -- when the event was stored in the log
	state        TEXT NOT NULL DEFAULT 'pending',
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	sent_at      INTEGER NOT NULL DEFAULT 0,
	UNIQUE (seq, recipient, kind)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_recipient ON outbox (recipient, id);

-- Reminders to come: rows queried by due time, never timers. seq is the commit that set the
-- meeting's time (or recorded the follow-up), so a notice raised from a row has a stable key.
CREATE TABLE IF NOT EXISTS reminders (
	meeting  TEXT NOT NULL,
	kind     TEXT NOT NULL,    -- reminder-48h, followup-due-tomorrow, followup-overdue, …
	subject  TEXT NOT NULL,    -- the follow-up id, or '' for a meeting's reminder
	seq      INTEGER NOT NULL,
	due_at   INTEGER NOT NULL,
	person   TEXT NOT NULL DEFAULT '',  -- a follow-up's responsible person
	at       INTEGER NOT NULL DEFAULT 0,
	place    TEXT NOT NULL DEFAULT '',
	date     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (meeting, kind, subject)
);
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (due_at);

-- Addresses that keep failing: the citizen sees them on the meeting page.
CREATE TABLE IF NOT EXISTS failing (
	person    TEXT PRIMARY KEY,
	failures  INTEGER NOT NULL,
	marked_at INTEGER NOT NULL DEFAULT 0  -- 0: failing, not yet marked
);
