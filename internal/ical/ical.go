// Package ical writes the iTIP calendar objects (RFC 5545, RFC 5546, carried in e-mail by RFC
// 6047) that notices about a meeting's time carry, and that the meeting page offers as a
// download. It writes nothing personal: the summary is fixed text, the location only the kind of
// place, the description a link.
package ical

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Method is the iTIP method of a calendar object.
type Method string

// The methods notices use.
const (
	Request Method = "REQUEST" // a new or changed time
	Cancel  Method = "CANCEL"  // the meeting is off, or the invitation was withdrawn
)

// Event is one meeting as a calendar sees it.
type Event struct {
	Meeting uuid.UUID
	Person  uuid.UUID // the invitee: the UID is stable per meeting and invitee
	Method  Method
	// Sequence rises with each change: the number of times the meeting was moved, and one more
	// on cancellation or withdrawal.
	Sequence int
	Start    time.Time
	// Location is the kind of place, in Danish, never an address.
	Location string
	URL      string    // the meeting's page
	Stamp    time.Time // when the change happened (DTSTAMP)
	// Organizer and Attendee are mailto addresses: the service's sender and the recipient.
	// Either may be empty (a download has no attendee).
	Organizer, Attendee string
}

// Duration is how long a meeting is shown as lasting: the log records only when it starts.
const Duration = 90 * time.Minute

// UID is the calendar UID of a meeting for one invitee: the same for every notice and download,
// and naming neither the meeting's nor the person's id.
func UID(meeting, person uuid.UUID) string {
	h := sha256.Sum256([]byte("aabendialog-ical\x00" + meeting.String() + "\x00" + person.String()))
	return hex.EncodeToString(h[:16]) + "@aabendialog"
}

// Summary is every event's SUMMARY: fixed text, never the meeting's title.
const Summary = "Møde i Åben Dialog"

// Write returns the calendar object as text with CRLF line ends and lines folded at 75 octets.
func Write(e Event) []byte {
	var b builder
	b.line("BEGIN:VCALENDAR")
	b.line("PRODID:-//Aaben Dialog//aabendialog//DA")
	b.line("VERSION:2.0")
	b.line("CALSCALE:GREGORIAN")
	b.line("METHOD:" + string(e.Method))
	b.line("BEGIN:VEVENT")
	b.line("UID:" + UID(e.Meeting, e.Person))
	b.line("DTSTAMP:" + stamp(e.Stamp))
	b.line("DTSTART:" + stamp(e.Start))
	b.line("DTEND:" + stamp(e.Start.Add(Duration)))
	b.line("SEQUENCE:" + strconv.Itoa(e.Sequence))
	b.line("SUMMARY:" + text(Summary))
	if e.Location != "" {
		b.line("LOCATION:" + text(e.Location))
	}
	if e.URL != "" {
		b.line("DESCRIPTION:" + text("Se mødet: "+e.URL))
		b.line("URL:" + e.URL)
	}
	if e.Organizer != "" {
		b.line("ORGANIZER:mailto:" + e.Organizer)
	}
	if e.Attendee != "" {
		b.line("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:" + e.Attendee)
	}
	if e.Method == Cancel {
		b.line("STATUS:CANCELLED")
	} else {
		b.line("STATUS:CONFIRMED")
	}
	b.line("TRANSP:OPAQUE")
	b.line("END:VEVENT")
	b.line("END:VCALENDAR")
	return []byte(b.String())
}

func stamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// text escapes a TEXT value (RFC 5545 §3.3.11).
func text(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", "")
	return r.Replace(s)
}

type builder struct{ strings.Builder }

// line writes one content line, folded so that no line is longer than 75 octets, never inside
// a UTF-8 sequence.
func (b *builder) line(s string) {
	const limit = 75
	first := true
	for len(s) > 0 {
		max := limit
		if !first {
			max = limit - 1 // the leading space counts
			b.WriteString(" ")
		}
		if len(s) <= max {
			b.WriteString(s)
			break
		}
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n")
		s = s[cut:]
		first = false
	}
	b.WriteString("\r\n")
}
