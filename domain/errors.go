package domain

import (
	"errors"
	"fmt"
)

// ErrorKind says what sort of failure a domain error is. Every transport maps the kinds the same
// way: Invalid → 400, Forbidden → 403, NotFound → 404, Conflict → 409.
type ErrorKind string

// The four kinds of domain error.
const (
	Invalid   ErrorKind = "invalid"
	Forbidden ErrorKind = "forbidden"
	NotFound  ErrorKind = "not_found"
	Conflict  ErrorKind = "conflict"
)

// Error is a rule the command broke, with a message a person understands. Field names the
// command field at fault when there is one.
type Error struct {
	Kind    ErrorKind `json:"kind"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
	// Rule names the rule that refused, for a transport that words it in its own language.
	Rule Rule `json:"rule,omitempty"`
}

// Because names the rule behind the error.
func (e *Error) Because(r Rule) *Error {
	e.Rule = r
	return e
}

// Rule names a rule of the domain that can refuse a command. It is a closed set: Rules lists it.
type Rule string

// The rules a person is likely to meet on the pages, each with a message of its own there.
const (
	RuleTooManyChanges      Rule = "too_many_changes"
	RuleClosed              Rule = "closed"
	RuleCancelled           Rule = "cancelled"
	RuleHeld                Rule = "held"
	RuleCitizenIsPart       Rule = "citizen_is_part"
	RuleAlreadyInvited      Rule = "already_invited"
	RuleTooManyParticipants Rule = "too_many_participants"
	RuleNotInvited          Rule = "not_invited"
	RuleOnlyInvitedAnswer   Rule = "only_invited_answer"
	RuleAlreadyAccepted     Rule = "already_accepted"
	RuleAlreadyDeclined     Rule = "already_declined"
	RuleInThePast           Rule = "in_the_past"
	RuleSameSchedule        Rule = "same_schedule"
	RuleAlreadyAttended     Rule = "already_attended"
	RuleNotScheduled        Rule = "not_scheduled"
	RuleTooEarly            Rule = "too_early"
	RuleCitizenPresent      Rule = "citizen_present"
	RuleAttendanceFirst     Rule = "attendance_first"
	RuleResponsibleAbsent   Rule = "responsible_absent"
	RuleFollowUpDone        Rule = "follow_up_done"
	RuleCloseNotHeld        Rule = "close_not_held"
	RuleCancelHeld          Rule = "cancel_held"
	// The citizen's mandates.
	RuleMandateNotYours      Rule = "mandate_not_yours"
	RuleMandateNeedsDocument Rule = "mandate_needs_document"
	RuleMandateHeld          Rule = "mandate_held"
	RuleNoMandate            Rule = "no_mandate"
	RuleMandateExpired       Rule = "mandate_expired"
	RuleMandateScope         Rule = "mandate_scope"
	// Consent to share (consent.go).
	RuleConsentNeeded    Rule = "consent_needed"
	RuleNoConsent        Rule = "no_consent"
	RuleConsentWithdrawn Rule = "consent_withdrawn"
	// RuleConsentNotBisidder: a bisidder tried to give the citizen's consent to share.
	RuleConsentNotBisidder Rule = "consent_not_bisidder"
)

// Rules lists every Rule.
func Rules() []Rule {
	return []Rule{RuleTooManyChanges, RuleClosed, RuleCancelled, RuleHeld, RuleCitizenIsPart, RuleAlreadyInvited,
		RuleTooManyParticipants, RuleNotInvited, RuleOnlyInvitedAnswer, RuleAlreadyAccepted, RuleAlreadyDeclined,
		RuleInThePast, RuleSameSchedule, RuleAlreadyAttended, RuleNotScheduled, RuleTooEarly, RuleCitizenPresent,
		RuleAttendanceFirst, RuleResponsibleAbsent, RuleFollowUpDone, RuleCloseNotHeld, RuleCancelHeld,
		RuleMandateNotYours, RuleMandateNeedsDocument, RuleMandateHeld, RuleNoMandate, RuleMandateExpired,
		RuleMandateScope, RuleConsentNeeded, RuleNoConsent, RuleConsentWithdrawn, RuleConsentNotBisidder}
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns a domain error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an Invalid error naming the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of a domain error anywhere in err's chain, or "" when err is not one.
func KindOf(err error) ErrorKind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return ""
}

// IsKind reports whether err is a domain error of the given kind.
func IsKind(err error, kind ErrorKind) bool { return err != nil && KindOf(err) == kind }
