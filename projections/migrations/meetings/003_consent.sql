-- Consent to share (forvaltningsloven § 28): the consent text an invitation from outside the
-- municipality was given under, and whether the citizen took it back, which ends the
-- participant's access. Invitations written before have none.
ALTER TABLE participants ADD COLUMN consent_version TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN consent_withdrawn INTEGER NOT NULL DEFAULT 0;
