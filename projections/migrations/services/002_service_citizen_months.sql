-- Which services take part in each citizen's meetings, month by month, kept by the projector:
-- the services report counts the pairs of services meeting the same citizens from these rows
-- (one per citizen, service and month) instead of joining every citizen's invitations with
-- each other, which grew with the square of a citizen's invitations.
--
-- A service takes part in a meeting while at least one of its people is invited and not
-- withdrawn (service_participants.invited = 1), as the report has always counted it. month is
-- YYYY-MM of the day the meeting was convened; meetings is how many of the citizen's meetings
-- that month the service takes part in. A row exists while meetings > 0.
CREATE TABLE service_citizen_months (
	citizen_id TEXT NOT NULL,
	service    TEXT NOT NULL,
	month      TEXT NOT NULL,
	meetings   INTEGER NOT NULL,
	PRIMARY KEY (citizen_id, service, month)
) WITHOUT ROWID;
CREATE INDEX service_citizen_months_by_service ON service_citizen_months (service, month, citizen_id);

-- A file from before this migration gets the rows the projector would have written.
INSERT INTO service_citizen_months (citizen_id, service, month, meetings)
SELECT sm.citizen_id, sp.service, substr(sm.convened_on, 1, 7), count(DISTINCT sp.meeting_id)
FROM service_participants sp JOIN service_meetings sm ON sm.meeting_id = sp.meeting_id
WHERE sp.invited = 1
GROUP BY sm.citizen_id, sp.service, substr(sm.convened_on, 1, 7);
