package wire

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The fuzz suite holds the package to encoding/json on any input, in the shapes the service
// reads and writes: commits and commands (read and written by the domain), a command's reply
// (written by handlers/command) and JetStream's answer to a publish (read by eventstore):
//
//	go test ./internal/wire -run '^$' -fuzz FuzzScan -fuzztime 60s
//	go test ./internal/wire -run '^$' -fuzz FuzzAppendString -fuzztime 60s
//	go test ./internal/wire -run '^$' -fuzz FuzzAppendTime -fuzztime 60s
//	go test ./internal/wire -run '^$' -fuzz FuzzAppendReply -fuzztime 60s
//
// The packages that map their types onto it hold their own mapping to encoding/json as well
// (domain's FuzzScanCommit, FuzzEncodeCommit and FuzzScanCommand, TestAppendReplyAsJSON,
// TestReadPubAck).

// texts are strings that encoding/json writes with care: HTML characters, quotes and
// backslashes, every kind of control character, U+2028 and U+2029, invalid UTF-8 (alone, cut
// short, and as a surrogate), non-ASCII, and DEL, which it leaves alone.
var texts = []string{
	"", "Mette", "Søren Kierkegaards Vej 1", `<script>&amp;</script>`, `"quoted" \back\slash/`,
	"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "line\u2028para\u2029end", "\xff", "a\xc3", "\xed\xa0\x80",
	"\xe2\x80", "日本語 🙂", "\ufffd", "æøå ÆØÅ", "tab\tand\nnewline",
}

// scanSeeds are JSON documents as the service meets them (commits, commands, JetStream's
// answers), and the shapes at the edge of what the Reader takes.
func scanSeeds(t testing.TB) [][]byte {
	m := "0193a000-0000-7000-8000-000000000001"
	var out [][]byte
	for _, s := range []string{
		// commands, as clients send them
		`{"meeting_id":"` + m + `","citizen_id":"` + m + `","title":"Møde"}`,
		`{"meeting_id":"` + m + `","items":["a","b"]}`, `{"meeting_id":"` + m + `","items":[]}`, `{"items":null}`,
		`{"meeting_id":"` + m + `","present":["` + m + `"]}`, `{"present":[null]}`, `{"accept":true,"reason":"x"}`,
		`{"meeting_id":"` + m + `","at":"2026-12-01T10:00:00Z","place":"chosen","address":"Torvet 1"}`,
		`{"meeting_id":null}`, `{"meeting_id":"` + m + `","meeting_id":"` + m + `"}`, `{}`, ` {}`, `{} `, `{"":[]}`,
		// commits
		`{"v":1,"events":[{"type":"AgendaSet","v":1,"data":{"items":null}}]}`,
		`{"v":01}`, `{"v":1.0}`, `{"v":1e0}`, `{"V":1}`, `{"v":1,"v":1}`, `{}x`,
		// JetStream's answers to a publish
		`{"stream":"DIALOG","seq":42}`, `{"stream":"DIALOG","domain":"hub","seq":7}`,
		`{"stream":"DIALOG","seq":9,"duplicate": true}`, " {\"stream\" : \"DIALOG\" , \"seq\" : 3 }\n",
		`{"stream":"DI\u0041LOG","seq":5}`, `{"stream":"DIALOG","seq":-1}`, `{"stream":"DIALOG","seq":18446744073709551616}`,
		`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 12"},"stream":"DIALOG","seq":0}`,
		// values of every kind
		`"a"`, `"\u00e5"`, `"\ud800"`, "\"\xff\"", `"a\"b"`, `0`, `-0`, `12`, `01`, `1.5`, `1e9`, `-1`, `999999999`,
		`1000000000`, `18446744073709551615`, `true`, `false`, `null`, `nul`, `[1,[2,{"a":[]}]]`, `[1,]`, `{"a":1,}`,
		`"2026-12-01T10:00:00+01:00"`, `"2026-12-01T10:00:00.123456789Z"`, `"2026-12-01 10:00:00Z"`,
		`{"a":"x","b":["y"],"c":3}`, `{"a":"x","A":"y"}`, `{"b":null}`, `{"c":1,"c":2}`,
		strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
		strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
	} {
		out = append(out, []byte(s))
	}
	for _, s := range texts {
		q, _ := json.Marshal(s)
		out = append(out, q, []byte(`"`+s+`"`))
	}
	// The domain's golden commits, as stored (indented) and as the log holds them (compact).
	files, _ := filepath.Glob(filepath.Join("..", "..", "domain", "testdata", "golden", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b, c.Bytes())
	}
	return out
}

// FuzzScan holds the Reader to encoding/json on any input. Skip accepts exactly what json.Valid
// accepts. Every other method reads only what encoding/json reads, and reads it the same way;
// and it accepts all of that but what the Reader's documentation leaves out: escapes and invalid
// UTF-8 in strings, null where it is not asked for, repeated keys and keys outside the caller's.
func FuzzScan(f *testing.F) {
	for _, b := range scanSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		plain := !bytes.Contains(b, []byte(`\`)) && utf8.Valid(b)
		null := string(bytes.Trim(b, " \t\r\n")) == "null"

		r := NewReader(b)
		r.Skip()
		if got, want := r.End(), json.Valid(b); got != want {
			t.Fatalf("Skip(%q) accepts: %v, json.Valid: %v", b, got, want)
		}

		r = NewReader(b)
		s := r.Str()
		var ws string
		werr := json.Unmarshal(b, &ws)
		check(t, "Str", b, r.End(), s, werr, ws, werr == nil && !null && plain)

		r = NewReader(b)
		k := r.Known(texts)
		check(t, "Known", b, r.End(), k, werr, ws, werr == nil && !null && plain)

		r = NewReader(b)
		n := r.Int()
		var wn int
		werr = json.Unmarshal(b, &wn)
		check(t, "Int", b, r.End(), n, werr, wn, werr == nil && !null && !bytes.Contains(b, []byte("-")) && wn < 1e9)

		r = NewReader(b)
		u := r.Uint()
		var wu uint64
		werr = json.Unmarshal(b, &wu)
		check(t, "Uint", b, r.End(), u, werr, wu, werr == nil && !null)

		r = NewReader(b)
		v := r.Bool()
		var wv bool
		werr = json.Unmarshal(b, &wv)
		check(t, "Bool", b, r.End(), v, werr, wv, werr == nil && !null)

		r = NewReader(b)
		isNull := r.Null()
		var wa any = 1
		werr = json.Unmarshal(b, &wa)
		check(t, "Null", b, isNull && r.End(), true, werr, wa == nil, null)

		r = NewReader(b)
		tm := r.Time()
		var wt time.Time
		werr = json.Unmarshal(b, &wt)
		check(t, "Time", b, r.End(), tm, werr, wt, werr == nil && !null && plain)

		r = NewReader(b)
		ss := r.Strings()
		var wss []string
		werr = json.Unmarshal(b, &wss)
		check(t, "Strings", b, r.End(), ss, werr, wss, werr == nil && plain && (null || !bytes.Contains(b, []byte("null"))))

		r = NewReader(b)
		got := map[string]any{}
		r.Object([]string{"a", "b", "c"}, func(k int) {
			switch k {
			case 0:
				got["a"] = r.Str()
			case 1:
				got["b"] = r.Strings()
			case 2:
				got["c"] = r.Uint()
			}
		})
		want, werr := objectAsJSON(b)
		check(t, "Object", b, r.End(), got, werr, want, werr == nil && plain && !bytes.Contains(b, []byte("null")) && uniqueKeys(b))

		// JetStream's answer to a publish, read as eventstore reads it.
		r = NewReader(b)
		var ack, wantAck pubAck
		r.Object(pubAckKeys, func(k int) {
			switch k {
			case 0:
				ack.Stream = r.Str()
			case 1:
				ack.Domain = r.Str()
			case 2:
				ack.Seq = r.Uint()
			case 3:
				ack.Duplicate = r.Bool()
			}
		})
		werr = json.Unmarshal(b, &wantAck)
		check(t, "Object (publish answer)", b, r.End(), ack, werr, wantAck,
			werr == nil && plain && !bytes.Contains(b, []byte("null")) && keysAmong(b, pubAckKeys))
	})
}

// pubAck is JetStream's answer to a publish, in the keys eventstore reads.
type pubAck struct {
	Stream    string `json:"stream"`
	Domain    string `json:"domain"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate"`
}

var pubAckKeys = []string{"stream", "domain", "seq", "duplicate"}

// keysAmong reports whether b is an object with no key twice and each key among keys, spelt
// exactly (encoding/json would take a key in any case).
func keysAmong(b []byte, keys []string) bool {
	m := map[string]json.RawMessage{}
	if json.Unmarshal(b, &m) != nil || !uniqueKeys(b) {
		return false
	}
	for k := range m {
		if !slices.Contains(keys, k) {
			return false
		}
	}
	return true
}

// check holds one method's reading of b to encoding/json's: what the Reader accepts, encoding/json
// reads without error, to the same value; and the Reader accepts what it should.
func check(t *testing.T, method string, b []byte, ok bool, got any, werr error, want any, shouldAccept bool) {
	t.Helper()
	switch {
	case ok && werr != nil:
		t.Fatalf("%s read %q, encoding/json refuses it: %v", method, b, werr)
	case ok && !reflect.DeepEqual(got, want):
		t.Fatalf("%s read %q\ngot  %#v\nwant %#v", method, b, got, want)
	case !ok && shouldAccept:
		t.Fatalf("%s refused %q, which encoding/json reads as %#v", method, b, want)
	}
}

// objectAsJSON reads b as FuzzScan's object of a (a string), b (a list of strings) and c (a
// uint64) through encoding/json, keeping only the keys given.
func objectAsJSON(b []byte) (map[string]any, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, &json.UnsupportedValueError{Str: "null"}
	}
	out := map[string]any{}
	for k, v := range raw {
		var err error
		switch k {
		case "a":
			var s string
			err = json.Unmarshal(v, &s)
			out[k] = s
		case "b":
			var ss []string
			err = json.Unmarshal(v, &ss)
			out[k] = ss
		case "c":
			var u uint64
			err = json.Unmarshal(v, &u)
			out[k] = u
		default:
			return nil, &json.UnsupportedValueError{Str: "key " + k}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// uniqueKeys reports whether b is an object with no key twice.
func uniqueKeys(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		k, _ := tok.(string)
		if slices.Contains(keys, k) {
			return false
		}
		keys = append(keys, k)
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return false
		}
	}
	return true
}

// FuzzAppendString holds AppendString to json.Marshal, byte for byte, on any string: what it
// writes reads back as s, with each byte of invalid UTF-8 as U+FFFD; and the Reader reads it
// back whenever it needed no escape.
func FuzzAppendString(f *testing.F) {
	for _, s := range texts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)
		if got[0] != 'x' {
			t.Fatalf("AppendString(%q) overwrote what came before", s)
		}
		got = got[1:]
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q)\ngot  %s\nwant %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) wrote %s, which encoding/json cannot read: %v", s, got, err)
		}
		if want := replaceInvalid(s); back != want {
			t.Fatalf("AppendString(%q) reads back as %q, want %q", s, back, want)
		}
		r := NewReader(got)
		read := r.Str()
		escaped := bytes.Contains(got, []byte(`\`))
		switch {
		case r.End() && read != s:
			t.Fatalf("the Reader reads AppendString(%q) = %s as %q", s, got, read)
		case !r.End() && !escaped:
			t.Fatalf("the Reader refuses AppendString(%q) = %s, which has no escape", s, got)
		}
	})
}

// replaceInvalid replaces each byte of invalid UTF-8 in s by U+FFFD, as json.Marshal does.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // utf8.RuneError is U+FFFD
		i += size
	}
	return b.String()
}

// times are times json.Marshal writes in every way it can: zero, whole seconds, nanoseconds,
// offsets of hours, minutes and seconds, the edges of the years it takes, and now.
var times = []time.Time{
	{},
	time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.UTC),
	time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.FixedZone("CET", 3600)),
	time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("", -(9*3600+30*60))),
	time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+17)),
	time.Now(),
}

// FuzzAppendTime holds AppendTime to time.Time's MarshalJSON on any time: the same bytes, or an
// error for both and nothing appended; and the Reader reads it back as encoding/json does.
func FuzzAppendTime(f *testing.F) {
	for _, t := range times {
		_, off := t.Zone()
		f.Add(t.Unix(), int64(t.Nanosecond()), off)
	}
	f.Add(int64(253402300800), int64(0), 0)   // the year 10000
	f.Add(int64(-62167219201), int64(0), 0)   // before the year 0
	f.Add(int64(0), int64(0), 86400)          // an offset of a day
	f.Add(int64(0), int64(0), -(24*3600 - 1)) // an offset of just under a day
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		got, err := AppendTime([]byte("x"), at)
		want, werr := at.MarshalJSON()
		if (err == nil) != (werr == nil) {
			t.Fatalf("AppendTime(%v): %v; MarshalJSON: %v", at, err, werr)
		}
		if err != nil {
			if string(got) != "x" {
				t.Fatalf("AppendTime(%v) refused it but appended %q", at, got)
			}
			return
		}
		if !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("AppendTime(%v)\ngot  %s\nwant x%s", at, got, want)
		}
		r := NewReader(got[1:])
		back := r.Time()
		var wt time.Time
		werr = json.Unmarshal(want, &wt)
		check(t, "Time", want, r.End(), back, werr, wt, werr == nil)
	})
}

// reply is the shape of a command's reply, as handlers/command writes it.
type reply struct {
	MeetingID uuid.UUID    `json:"meeting_id"`
	CommandID uuid.UUID    `json:"command_id"`
	Command   string       `json:"command"`
	Sequence  uint64       `json:"sequence"`
	Duplicate bool         `json:"duplicate"`
	Events    []replyEvent `json:"events"`
}

type replyEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// appendReply writes r with the package's Append functions, as handlers/command does.
func appendReply(b []byte, r reply) []byte {
	b = append(b, `{"meeting_id":`...)
	b = AppendUUID(b, r.MeetingID)
	b = append(b, `,"command_id":`...)
	b = AppendUUID(b, r.CommandID)
	b = append(b, `,"command":`...)
	b = AppendString(b, r.Command)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, r.Sequence, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendBool(b, r.Duplicate)
	b = append(b, `,"events":`...)
	b = AppendArray(b, r.Events, func(b []byte, e replyEvent) []byte {
		b = append(b, `{"type":`...)
		b = AppendString(b, e.Type)
		b = append(b, `,"data":`...)
		return append(append(b, e.Data...), '}')
	})
	return append(b, '}')
}

// FuzzAppendReply holds the Append functions, put together in the shape of a command's reply
// (ids, strings, a sequence, a boolean, a list of events), to json.Marshal, byte for byte.
func FuzzAppendReply(f *testing.F) {
	for _, s := range texts {
		f.Add([]byte("0123456789abcdef"), s, s, uint64(42), false, 1)
	}
	f.Add([]byte{}, "invite-participant", "ParticipantInvited", uint64(1<<64-1), true, 0)
	f.Add([]byte{}, "close-meeting", "MeetingClosed", uint64(0), true, -1)
	f.Fuzz(func(t *testing.T, id []byte, command, typ string, seq uint64, duplicate bool, events int) {
		var meeting uuid.UUID
		copy(meeting[:], id)
		r := reply{MeetingID: meeting, CommandID: uuid.UUID(slices.Repeat([]byte{byte(seq)}, 16)), Command: command,
			Sequence: seq, Duplicate: duplicate}
		if events >= 0 {
			r.Events = []replyEvent{}
		}
		for i := range min(events, 3) {
			data, _ := json.Marshal(map[string]string{"name": typ})
			if i == 1 {
				data = []byte(`{}`)
			}
			r.Events = append(r.Events, replyEvent{Type: typ, Data: data})
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendReply(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("appendReply(%+v)\ngot  %s\nwant %s", r, got, want)
		}
	})
}
