package domain

import (
	"reflect"
	"testing"
)

// FuzzScanCommand holds scanCommand to decodeStrict: what it accepts, decodeStrict reads the
// same way; what it refuses leaves the command zero.
func FuzzScanCommand(f *testing.F) {
	m := "0193a000-0000-7000-8000-000000000001"
	for _, s := range []string{
		`{"meeting_id":"` + m + `","citizen_id":"` + m + `","title":"Møde"}`,
		`{"meeting_id":"` + m + `","items":["a","b"]}`, `{"meeting_id":"` + m + `","items":[]}`, `{"items":null}`,
		`{"meeting_id":"` + m + `","participant_id":"` + m + `","name":"x","kind":"professional","service":"Jobcenter"}`,
		`{"meeting_id":"` + m + `","at":"2026-12-01T10:00:00Z","place":"chosen","address":"Torvet 1"}`,
		`{"meeting_id":"` + m + `","present":["` + m + `"]}`, `{"present":[null]}`, `{"accept":true,"reason":"x"}`,
		`{"meeting_id":"` + m + `","follow_up_id":"` + m + `","what":"x","responsible":"` + m + `","due":"2026-12-24"}`,
		`{"meeting_id":null}`, `{"meeting_id":"` + m + `","meeting_id":"` + m + `"}`, `{}`, ` {}`, `{} `, `{"next_agreed":false}`,
	} {
		for i := range commandOrder {
			f.Add(i, s)
		}
	}
	f.Fuzz(func(t *testing.T, which int, body string) {
		name := commandOrder[(which%len(commandOrder)+len(commandOrder))%len(commandOrder)]
		got, _ := NewCommand(name)
		want, _ := NewCommand(name)
		werr := decodeStrict([]byte(body), want)
		if scanCommand([]byte(body), got) {
			if werr != nil {
				t.Fatalf("%s: scanner read %q, decodeStrict refuses it: %v", name, body, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: scanned %q\ngot  %+v\nwant %+v", name, body, got, want)
			}
			return
		}
		zero, _ := NewCommand(name)
		if !reflect.DeepEqual(got, zero) {
			t.Fatalf("%s: refused %q but left %+v", name, body, got)
		}
	})
}
