package ical_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	goical "github.com/emersion/go-ical"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/internal/ical"
)

// FuzzWrite: whatever text goes into the location and the link (the link's base comes from
// configuration), the object parses, no line is longer than 75 octets, and the text comes back
// as it went in: nothing can add a property.
func FuzzWrite(f *testing.F) {
	f.Add("Online", "https://aabendialog.kommune.dk/moeder/x", 3)
	f.Add("Hjemme; hos, borgeren\\", "https://x/æøå", 0)
	f.Add(strings.Repeat("æ", 80), "https://x/\r\nATTENDEE:mailto:a@b", 1)
	f.Fuzz(func(t *testing.T, location, url string, seq int) {
		if strings.ContainsAny(url, "\r\n") || !utf8Valid(location+url) || strings.ContainsRune(location, '\r') {
			t.Skip() // the link is checked at start (--public-url); text without CR
		}
		b := ical.Write(ical.Event{Meeting: uuid.New(), Person: uuid.New(), Method: ical.Request, Sequence: seq & 0xffff,
			Start: time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC), Location: location, URL: url, Stamp: time.Now()})
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
			if len(line) > 75 {
				t.Fatalf("line of %d octets: %q", len(line), line)
			}
		}
		cal, err := goical.NewDecoder(bytes.NewReader(b)).Decode()
		if err != nil {
			t.Fatalf("does not parse: %v\n%s", err, b)
		}
		ev := cal.Events()
		if len(ev) != 1 {
			t.Fatalf("%d events", len(ev))
		}
		if location != "" {
			if got, _ := ev[0].Props.Text(goical.PropLocation); got != location {
				t.Fatalf("LOCATION: got %q, want %q", got, location)
			}
		}
		if len(ev[0].Props.Values(goical.PropAttendee)) != 0 {
			t.Fatalf("an attendee appeared:\n%s", b)
		}
	})
}

func utf8Valid(s string) bool {
	return strings.ToValidUTF8(s, "\x00") == s && !strings.ContainsRune(s, 0)
}

func TestUIDIsStableAndNamesNeither(t *testing.T) {
	m, p := uuid.New(), uuid.New()
	if ical.UID(m, p) != ical.UID(m, p) || ical.UID(m, p) == ical.UID(p, m) {
		t.Fatal("UID not stable per (meeting, invitee)")
	}
	if strings.Contains(ical.UID(m, p), m.String()) || strings.Contains(ical.UID(m, p), p.String()) {
		t.Fatal("UID names the meeting or the person")
	}
}
