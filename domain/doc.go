// Package domain is an Open Dialogue meeting and its rules: the commands a person gives, the
// events a command decides, and the state those events fold into. It does no I/O: the time and
// new ids come in from the caller.
//
// A command passes through it in this order: DecodeCommand (commands.go) reads it from JSON and
// Validate checks it on its own; Meeting.Decide (decide.go) checks it against the meeting in a
// fixed order and hands it to its behaviour, which decides the events; EncodeCommit (commit.go)
// writes them for the log, and Meeting.Apply (meeting.go) folds them back into the state.
//
// A file per behaviour holds its commands and their validation, its events, what it decides and
// how its events change the meeting: convene.go, agenda.go, invitation.go (inviting, withdrawing,
// suggesting someone, answering), schedule.go, attendance.go, followup.go and close.go (closing
// and cancelling).
//
// The contract with the log and the other packages: types.go (the closed sets), versions.go (the
// event type names, their versions and upcasters; the golden files of every shape are in
// testdata/golden), commit.go (the commit envelope and its encoding/json reference), codec.go
// (the same form read and written through internal/wire, without encoding/json's reflection),
// errors.go and actor.go; validate.go has the checks commands share. services.go is the
// catalogue of services, indicators.go the indicators' pure maths.
package domain
