-- The meetings read model: each meeting as it stands, for each citizen's history, a
-- professional's inbox and follow-ups. Times are UTC, RFC 3339 with milliseconds, so they sort.
CREATE TABLE checkpoint (
	projection TEXT PRIMARY KEY,
	seq        INTEGER NOT NULL,
	at         TEXT NOT NULL          -- when the last applied commit was stored in the log
);
CREATE TABLE meetings (
	meeting_id      TEXT PRIMARY KEY,
	citizen_id      TEXT NOT NULL,
	title           TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	convened_at     TEXT NOT NULL,
	scheduled_at    TEXT,
	place           TEXT,
	address         TEXT,
	reschedules     INTEGER NOT NULL DEFAULT 0,
	held_at         TEXT,
	citizen_present INTEGER NOT NULL DEFAULT 0,
	closed_at       TEXT,
	next_agreed     INTEGER NOT NULL DEFAULT 0,
	cancelled_at    TEXT,
	cancel_reason   TEXT,
	last_seq        INTEGER NOT NULL
);
CREATE INDEX meetings_by_citizen ON meetings (citizen_id, convened_at);
CREATE TABLE agenda_items (
	meeting_id TEXT NOT NULL REFERENCES meetings (meeting_id),
	position   INTEGER NOT NULL,
	text       TEXT NOT NULL,
	PRIMARY KEY (meeting_id, position)
);
CREATE TABLE participants (
	meeting_id     TEXT NOT NULL REFERENCES meetings (meeting_id),
	participant_id TEXT NOT NULL,
	name           TEXT NOT NULL,
	kind           TEXT NOT NULL,
	service        TEXT NOT NULL DEFAULT '',
	answer         TEXT NOT NULL,
	reason         TEXT NOT NULL DEFAULT '',
	withdrawn      INTEGER NOT NULL DEFAULT 0,
	present        INTEGER NOT NULL DEFAULT 0,
	invited_at     TEXT NOT NULL,
	answered_at    TEXT,
	position       INTEGER NOT NULL,
	PRIMARY KEY (meeting_id, participant_id)
);
CREATE INDEX participants_by_person ON participants (participant_id);
CREATE TABLE suggestions (
	suggestion_id  TEXT PRIMARY KEY,
	meeting_id     TEXT NOT NULL REFERENCES meetings (meeting_id),
	participant_id TEXT,
	name           TEXT NOT NULL,
	kind           TEXT NOT NULL,
	service        TEXT NOT NULL DEFAULT '',
	reason         TEXT NOT NULL DEFAULT '',
	suggested_by   TEXT NOT NULL,
	suggested_at   TEXT NOT NULL
);
CREATE TABLE follow_ups (
	follow_up_id TEXT PRIMARY KEY,
	meeting_id   TEXT NOT NULL REFERENCES meetings (meeting_id),
	what         TEXT NOT NULL,
	responsible  TEXT NOT NULL,
	due          TEXT NOT NULL DEFAULT '',
	recorded_at  TEXT NOT NULL,
	completed_at TEXT
);
CREATE INDEX follow_ups_by_meeting ON follow_ups (meeting_id);
CREATE INDEX follow_ups_by_responsible ON follow_ups (responsible);
