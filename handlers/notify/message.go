package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Copenhagen on machines without the zone files

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/internal/ical"
)

// Notice is one row of the outbox: what to tell whom, and nothing personal. It names the meeting
// only by its id (for the link) and carries the time and the kind of place, never the title,
// the agenda, names, the address or a follow-up's text.
type Notice struct {
	ID        int64
	Seq       uint64 // the event's log sequence (or, for a reminder, the commit that set the time)
	Recipient uuid.UUID
	Kind      Kind
	Meeting   uuid.UUID
	At        time.Time // the meeting's time, if the notice is about one
	Place     domain.PlaceKind
	// CalSeq is the calendar part's SEQUENCE; -1 means the notice has no calendar part.
	CalSeq  int
	Due     string    // a follow-up's due date
	Created time.Time // when the event was stored in the log
	State   string
	SentAt  time.Time
}

// Kind is what a notice is about. It is a closed set.
type Kind string

// The kinds of notice.
const (
	KindInvitation      Kind = "invitation"
	KindScheduled       Kind = "scheduled" // the time and place were set or moved
	KindWithdrawn       Kind = "withdrawn"
	KindCancelled       Kind = "cancelled"
	KindSuggestion      Kind = "suggestion"
	KindFollowUp        Kind = "follow-up"
	KindFollowUpDueSoon Kind = "follow-up-due-tomorrow"
	KindFollowUpOverdue Kind = "follow-up-overdue"
	// A reminder's kind is "reminder-" and how long before the meeting it is sent: reminder-48h.
	reminderPrefix = "reminder-"
)

// ReminderKind is the kind of the reminder sent d before a meeting.
func ReminderKind(d time.Duration) Kind {
	if d%time.Hour == 0 {
		return Kind(reminderPrefix + strconv.FormatInt(int64(d/time.Hour), 10) + "h")
	}
	if d%time.Minute == 0 {
		return Kind(reminderPrefix + strconv.FormatInt(int64(d/time.Minute), 10) + "m")
	}
	return Kind(reminderPrefix + d.String())
}

// IsReminder reports whether k is a reminder before a meeting.
func (k Kind) IsReminder() bool { return strings.HasPrefix(string(k), reminderPrefix) }

// Copenhagen is the time zone notices speak in.
var Copenhagen = mustZone("Europe/Copenhagen")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // impossible: time/tzdata is linked in
	}
	return loc
}

// PlaceName is the kind of place in plain Danish: all a notice or a calendar says of where.
func PlaceName(p domain.PlaceKind) string {
	switch p {
	case domain.PlaceHome:
		return "Hjemme hos borgeren"
	case domain.PlaceChosen:
		return "Et sted, borgeren har valgt"
	case domain.PlaceOffice:
		return "På et kontor"
	case domain.PlaceOnline:
		return "Online"
	}
	return ""
}

var weekdays = [...]string{"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"}
var months = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}

// DanishTime writes a time as "mandag den 4. januar 2027 kl. 10.00", in Copenhagen's time.
func DanishTime(t time.Time) string {
	t = t.In(Copenhagen)
	return fmt.Sprintf("%s den %d. %s %d kl. %02d.%02d", weekdays[t.Weekday()], t.Day(), months[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

// danishDate writes a date (YYYY-MM-DD) as "4. januar 2027".
func danishDate(date string) string {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return date
	}
	return fmt.Sprintf("%d. %s %d", d.Day(), months[d.Month()-1], d.Year())
}

// content is a notice's subject and text, in plain Danish and with nothing personal.
func (n Notice) content(link, settings string) (subject, body string) {
	var lines []string
	when := func(label string) {
		if !n.At.IsZero() {
			lines = append(lines, label+": "+DanishTime(n.At)+".")
			if p := PlaceName(n.Place); p != "" {
				lines = append(lines, "Sted: "+p+".")
			}
		}
	}
	switch {
	case n.Kind == KindInvitation:
		subject = "Du er inviteret til et møde i Åben Dialog"
		lines = append(lines, "Du er inviteret til et møde i Åben Dialog.")
		when("Tidspunkt")
		lines = append(lines, "Se invitationen: "+link)
	case n.Kind == KindScheduled:
		subject = "Tid og sted for et møde i Åben Dialog"
		lines = append(lines, "Et møde i Åben Dialog, som du er inviteret til, har fået tid og sted, eller de er ændret.")
		when("Tidspunkt")
		lines = append(lines, "Se mødet: "+link)
	case n.Kind == KindWithdrawn:
		subject = "Din invitation til et møde i Åben Dialog er trukket tilbage"
		lines = append(lines, "Din invitation til et møde i Åben Dialog er trukket tilbage. Du skal ikke komme.")
		when("Mødet skulle have været")
		lines = append(lines, "Se din indbakke: "+link)
	case n.Kind == KindCancelled:
		subject = "Et møde i Åben Dialog er aflyst"
		lines = append(lines, "Et møde i Åben Dialog, som du er inviteret til, er aflyst.")
		when("Mødet skulle have været")
		lines = append(lines, "Se mødet: "+link)
	case n.Kind == KindSuggestion:
		subject = "Et forslag til dit møde i Åben Dialog"
		lines = append(lines, "En deltager har foreslået, at du inviterer en mere til dit møde i Åben Dialog. Du bestemmer selv.")
		lines = append(lines, "Se forslaget: "+link)
	case n.Kind == KindFollowUp:
		subject = "Du er ansvarlig for en opfølgning i Åben Dialog"
		lines = append(lines, "Efter et møde i Åben Dialog er der aftalt en opfølgning, som du er ansvarlig for.")
		if n.Due != "" {
			lines = append(lines, "Frist: "+danishDate(n.Due)+".")
		}
		lines = append(lines, "Se opfølgningen: "+link)
	case n.Kind == KindFollowUpDueSoon:
		subject = "En opfølgning i Åben Dialog har frist i morgen"
		lines = append(lines, "En opfølgning, som du er ansvarlig for, har frist i morgen, "+danishDate(n.Due)+".")
		lines = append(lines, "Se opfølgningen: "+link)
	case n.Kind == KindFollowUpOverdue:
		subject = "En opfølgning i Åben Dialog har overskredet fristen"
		lines = append(lines, "En opfølgning, som du er ansvarlig for, har overskredet fristen "+danishDate(n.Due)+" og er ikke markeret som udført.")
		lines = append(lines, "Se opfølgningen: "+link)
	case n.Kind.IsReminder():
		subject = "Påmindelse: møde i Åben Dialog"
		lines = append(lines, "Påmindelse: Du skal til et møde i Åben Dialog.")
		when("Tidspunkt")
		lines = append(lines, "Se mødet: "+link)
	default:
		subject = "Nyt i Åben Dialog"
		lines = append(lines, "Der er nyt til dig i Åben Dialog: "+link)
	}
	lines = append(lines, "", "Denne e-mail er sendt automatisk, og du kan ikke svare på den. Du kan ændre, hvor du får besked: "+settings)
	return subject, strings.Join(lines, "\n")
}

// SettingsPath is the page where a person changes or removes their address or opts out.
const SettingsPath = "/varsler"

// Link is the page a notice points to, under the service's public address base.
func (n Notice) Link(base string) string {
	base = strings.TrimRight(base, "/")
	if n.Kind == KindWithdrawn {
		return base + "/indbakke" // the meeting is no longer theirs to see
	}
	return base + "/moeder/" + n.Meeting.String()
}

// MessageID is the notice's Message-ID: derived from its outbox key, so a notice sent again
// after a crash has the same one, and a mail client shows it once.
func (n Notice) MessageID(domainPart string) string {
	h := sha256.Sum256([]byte(strconv.FormatUint(n.Seq, 10) + "\x00" + n.Recipient.String() + "\x00" + string(n.Kind)))
	return "<" + hex.EncodeToString(h[:16]) + "@" + domainPart + ">"
}

// calendar is the notice's iTIP part, or nil when it has none.
func (n Notice) calendar(link, from, to string) ([]byte, ical.Method) {
	if n.CalSeq < 0 || n.At.IsZero() {
		return nil, ""
	}
	method := ical.Request
	if n.Kind == KindCancelled || n.Kind == KindWithdrawn {
		method = ical.Cancel
	}
	return ical.Write(ical.Event{Meeting: n.Meeting, Person: n.Recipient, Method: method, Sequence: n.CalSeq,
		Start: n.At, Location: PlaceName(n.Place), URL: link, Stamp: n.Created, Organizer: from, Attendee: to}), method
}

// Compose writes the notice as an e-mail (RFC 5322, MIME): a plain text part, and for a notice
// about a time an iTIP calendar part beside it (RFC 6047).
func Compose(n Notice, from, to, base string, date time.Time) []byte {
	link := n.Link(base)
	subject, body := n.content(link, strings.TrimRight(base, "/")+SettingsPath)
	at := strings.LastIndex(from, "@")
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from)
	header("To", to)
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", date.UTC().Format(time.RFC1123Z))
	header("Message-ID", n.MessageID(from[at+1:]))
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	cal, method := n.calendar(link, from, to)
	if cal == nil {
		header("Content-Type", `text/plain; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, body)
		return b.Bytes()
	}
	boundary := "aabendialog-" + n.MessageID("x")[1:33]
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(&b, body)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/calendar; charset=\"utf-8\"; method=" + string(method) + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeQP(&b, string(cal))
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes()
}

func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")))
	_ = w.Close()
}
