-- The services read model: which services took part in which meetings, with no names and no
-- free text. A row per meeting and professional (or regional) participant.
CREATE TABLE checkpoint (
	projection TEXT PRIMARY KEY,
	seq        INTEGER NOT NULL,
	at         TEXT NOT NULL
);
CREATE TABLE service_meetings (
	meeting_id  TEXT PRIMARY KEY,
	citizen_id  TEXT NOT NULL,
	convened_on TEXT NOT NULL,   -- YYYY-MM-DD
	status      TEXT NOT NULL
);
CREATE TABLE service_participants (
	meeting_id     TEXT NOT NULL REFERENCES service_meetings (meeting_id),
	participant_id TEXT NOT NULL,
	service        TEXT NOT NULL,
	invited        INTEGER NOT NULL DEFAULT 1,   -- 0 once withdrawn
	accepted       INTEGER NOT NULL DEFAULT 0,
	attended       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (meeting_id, participant_id)
);
CREATE INDEX service_participants_by_service ON service_participants (service, meeting_id);
