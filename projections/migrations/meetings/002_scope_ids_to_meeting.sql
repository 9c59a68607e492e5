-- Follow-up and suggestion ids are chosen by clients and unique only within a meeting (the
-- domain checks that); as global keys, a second meeting reusing one would stop this read model.
CREATE TABLE follow_ups_scoped (
	follow_up_id TEXT NOT NULL,
	meeting_id   TEXT NOT NULL REFERENCES meetings (meeting_id),
	what         TEXT NOT NULL,
	responsible  TEXT NOT NULL,
	due          TEXT NOT NULL DEFAULT '',
	recorded_at  TEXT NOT NULL,
	completed_at TEXT,
	PRIMARY KEY (meeting_id, follow_up_id)
);
INSERT INTO follow_ups_scoped SELECT follow_up_id, meeting_id, what, responsible, due, recorded_at, completed_at FROM follow_ups;
DROP TABLE follow_ups;
ALTER TABLE follow_ups_scoped RENAME TO follow_ups;
CREATE INDEX follow_ups_by_responsible ON follow_ups (responsible);

CREATE TABLE suggestions_scoped (
	suggestion_id  TEXT NOT NULL,
	meeting_id     TEXT NOT NULL REFERENCES meetings (meeting_id),
	participant_id TEXT,
	name           TEXT NOT NULL,
	kind           TEXT NOT NULL,
	service        TEXT NOT NULL DEFAULT '',
	reason         TEXT NOT NULL DEFAULT '',
	suggested_by   TEXT NOT NULL,
	suggested_at   TEXT NOT NULL,
	PRIMARY KEY (meeting_id, suggestion_id)
);
INSERT INTO suggestions_scoped SELECT suggestion_id, meeting_id, participant_id, name, kind, service, reason, suggested_by, suggested_at FROM suggestions;
DROP TABLE suggestions;
ALTER TABLE suggestions_scoped RENAME TO suggestions;
