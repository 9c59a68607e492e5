package wire

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

// TestAppendUUID writes a UUID as json.Marshal writes a uuid.UUID.
func TestAppendUUID(t *testing.T) {
	for _, id := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.MustParse("0193a000-0000-7000-8000-00000000c001")} {
		want, err := json.Marshal(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendUUID(nil, id); !bytes.Equal(got, want) {
			t.Errorf("AppendUUID(%s) = %s, want %s", id, got, want)
		}
	}
}

// TestAppendArray writes a slice as json.Marshal does: null when nil, [] when empty.
func TestAppendArray(t *testing.T) {
	for _, xs := range [][]string{nil, {}, {"a"}, {"<b>", "", "c\n"}} {
		want, err := json.Marshal(xs)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendArray(nil, xs, AppendString); !bytes.Equal(got, want) {
			t.Errorf("AppendArray(%q) = %s, want %s", xs, got, want)
		}
	}
}

// TestReader reads an object of every kind of value the Reader knows, with whitespace between
// the tokens, and refuses what lies outside its form.
func TestReader(t *testing.T) {
	keys := []string{"s", "n", "u", "b", "t", "l", "x", "o"}
	read := func(in string) (map[string]any, bool) {
		r := NewReader([]byte(in))
		got := map[string]any{}
		r.Object(keys, func(k int) {
			if r.Null() {
				got[keys[k]] = nil
				return
			}
			switch keys[k] {
			case "s":
				got["s"] = r.Known([]string{"home", "chosen"})
			case "n":
				got["n"] = r.Int()
			case "u":
				got["u"] = r.Uint()
			case "b":
				got["b"] = r.Bool()
			case "t":
				got["t"] = r.Time().UTC().Format("2006-01-02T15:04")
			case "l":
				got["l"] = r.Strings()
			case "x":
				r.Skip()
			case "o":
				r.Object(nil, func(int) { r.Fail() })
			}
		})
		return got, r.End()
	}
	in := " {\"s\" : \"chosen\",\n\"n\":7,\t\"u\":18446744073709551615,\r\"b\":false,\"t\":\"2026-12-01T10:00:00+01:00\"," +
		"\"l\":[\"a\" , \"å\"],\"x\":{\"q\":[1.5e-3,\"\\u00e5\",{}]},\"o\":{}} "
	got, ok := read(in)
	if !ok {
		t.Fatalf("refused %s", in)
	}
	want := map[string]any{"s": "chosen", "n": 7, "u": uint64(1<<64 - 1), "b": false, "t": "2026-12-01T09:00", "l": []string{"a", "å"}}
	for k, v := range want {
		if g := got[k]; !equal(g, v) {
			t.Errorf("%s: got %#v, want %#v", k, g, v)
		}
	}
	for _, bad := range []string{
		``, `[]`, `{"s":"a\nb"}`, `{"s":"\u0061"}`, "{\"s\":\"\xff\"}", `{"q":1}`, `{"n":1,"n":1}`, `{"S":"a"}`,
		`{"n":-1}`, `{"n":01}`, `{"n":1.0}`, `{"n":1000000000}`, `{"u":18446744073709551616}`, `{"b":1}`,
		`{"t":"tomorrow"}`, `{"l":["a",null]}`, `{"l":[1]}`, `{"x":[1,]}`, `{"o":{"a":1}}`, `{"s":"a"}x`, `{"s":"a",}`,
	} {
		if got, ok := read(bad); ok {
			t.Errorf("read %q as %v, want it refused", bad, got)
		}
	}
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestObjectTakesAtMost64Keys: the keys seen are kept in a 64-bit set.
func TestObjectTakesAtMost64Keys(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 65 keys")
		}
	}()
	r := NewReader([]byte(`{}`))
	r.Object(make([]string, 65), func(int) {})
}
