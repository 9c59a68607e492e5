package domain

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// text checks a one-line field (a title, a name, a service, an address, an agenda item): valid
// UTF-8, no control characters and no line breaks, not blank when required, at most max
// characters.
func text(field, s string, required bool, max int) error {
	return checkText(field, s, required, max, false)
}

// lines checks a free text that may run over several lines (what was agreed, a reason).
func lines(field, s string, required bool, max int) error {
	return checkText(field, s, required, max, true)
}

func checkText(field, s string, required bool, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return FieldErrorf(field, "is not valid UTF-8 text")
	}
	if required && strings.TrimSpace(s) == "" {
		return FieldErrorf(field, "is missing")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return FieldErrorf(field, "is %d characters long; at most %d are allowed", n, max)
	}
	if multiline && !PlainLines(s) {
		return FieldErrorf(field, "contains a control character or a direction mark; only letters, signs, spaces and line breaks are allowed")
	}
	if !multiline && !PlainText(s) {
		return FieldErrorf(field, "contains a line break, a control character or a direction mark; write it on one line")
	}
	return nil
}

// PlainText reports whether s is one line a person could have typed: valid UTF-8 without control
// characters (C0, DEL, C1), line breaks or tabs, and without the bidirectional formatting
// characters that make text read otherwise than it is stored. Names, titles, services and
// addresses must be plain text: a line break in one would forge a row in a listing.
func PlainText(s string) bool { return plain(s, false) }

// PlainLines is PlainText that also allows line breaks and tabs, for free texts such as what
// was agreed at a meeting or a reason.
func PlainLines(s string) bool { return plain(s, true) }

func plain(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			if !multiline {
				return false
			}
		case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL and C1 controls
			return false
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
			return false
		}
	}
	return true
}

// indexed names a list's element in an error: items[2].
func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// atIndex renames the field of err, a field error about a list's element, to that element. The
// name is built only for a refusal, not for every element checked.
func atIndex(err error, field string, i int) error {
	var e *Error
	if errors.As(err, &e) && e.Field == field {
		e.Field = indexed(field, i)
	}
	return err
}

func id(field string, v uuid.UUID) error {
	if v == uuid.Nil {
		return FieldErrorf(field, "is missing")
	}
	return nil
}

func participantKind(field string, k ParticipantKind) error {
	switch k {
	case KindProfessional, KindNetwork, KindRegion, KindOther:
		return nil
	case "":
		return FieldErrorf(field, "is missing: use professional, network, region or other")
	}
	return FieldErrorf(field, "%q is not a kind of participant: use professional, network, region or other", k)
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// MaxEmail is the longest e-mail address (RFC 5321's path limit).
const MaxEmail = 254

// EmailAddress checks an e-mail address: one line of plain text with a local part, an @ and a
// domain with a dot, no spaces. It does not say the address exists.
func EmailAddress(field, s string) error {
	if err := text(field, s, true, MaxEmail); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(strings.TrimSpace(s), "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(s, " <>,;\\\"()[]") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "@") {
		return FieldErrorf(field, "%q is not an e-mail address (name@example.dk)", s)
	}
	return nil
}

// NormalEmail is the form an address is compared in: trimmed, in lower case.
func NormalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
