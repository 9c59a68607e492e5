// Package wire is the service's one fast JSON codec: a Reader and Append functions for JSON in
// the form encoding/json writes it, without reflection. The log's commits, the commands people
// send, the replies to them and JetStream's answers to a publish are read or written with it,
// because encoding/json's reflection was a visible part of a command's and a catch-up's CPU
// (docs/benchmarks.md, "The JSON codec").
//
// It knows nothing of meetings: callers map their own types field by field. It reads only a plain
// form of JSON, so that whatever it accepts it reads exactly as encoding/json does; anything
// outside that form fails the Reader, and the caller reads the input again with encoding/json,
// which reads it or words the error. The Append functions write byte for byte what json.Marshal
// writes. FuzzScan, FuzzAppendString and FuzzAppendTime hold both to encoding/json. Numbers and
// booleans are written with strconv's Append functions, which write them as json.Marshal does.
package wire

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// MaxDepth is how deeply Skip lets arrays and objects nest, as encoding/json does.
const MaxDepth = 10000

// Reader reads one JSON value from a byte slice, token by token: each method reads the part of
// the value its caller expects next. Whitespace between tokens is allowed, as in any JSON.
//
// It is stricter than JSON where reading a form exactly as encoding/json does would cost more
// than it saves; such input fails it, and a caller falls back to encoding/json:
//
//   - a string with an escape (\n, \", \u00e5 …) or with invalid UTF-8 (encoding/json would
//     unescape it, or replace the invalid bytes with U+FFFD);
//   - in an object, a key outside the ones the caller names, or a key given twice (encoding/json
//     matches keys to fields without regard to case, and keeps the last of a repeated key);
//   - null where the caller does not ask for it with Null;
//   - a number in any form but the one the method reading it names.
//
// Skip alone takes any JSON value. Once the Reader has failed it stays failed, and what its
// methods return is of no use; a caller reads the whole value and then asks End.
type Reader struct {
	b   []byte
	i   int
	bad bool
}

// NewReader returns a Reader of b. It reads b in place: Span returns bytes of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Fail marks the input as outside the form the caller reads, as if a method had refused it.
func (r *Reader) Fail() { r.bad = true }

// OK reports whether everything read so far was in the Reader's form.
func (r *Reader) OK() bool { return !r.bad }

// End reads trailing whitespace and reports whether the input was one value in the Reader's
// form, read to its end.
func (r *Reader) End() bool {
	r.ws()
	return !r.bad && r.i == len(r.b)
}

// Object reads an object whose keys are among keys (at most 64), calling value with each key's
// index when the Reader stands at its value; value must read it. A key outside keys, or one seen
// twice, fails the Reader.
func (r *Reader) Object(keys []string, value func(k int)) {
	if len(keys) > 64 {
		panic("wire: Object takes at most 64 keys")
	}
	if !r.next('{') {
		r.bad = true
		return
	}
	if r.next('}') {
		return
	}
	var seen uint64
	for !r.bad {
		name := r.Span()
		k := index(keys, name)
		if r.bad || k < 0 || seen&(1<<k) != 0 || !r.next(':') {
			r.bad = true
			return
		}
		seen |= 1 << k
		value(k)
		if !r.next(',') {
			r.expect('}')
			return
		}
	}
}

// Array reads an array, calling elem when the Reader stands at each element; elem must read it.
func (r *Reader) Array(elem func()) {
	if !r.next('[') {
		r.bad = true
		return
	}
	if r.next(']') {
		return
	}
	for !r.bad {
		elem()
		if !r.next(',') {
			r.expect(']')
			return
		}
	}
}

// Span reads a string and returns the bytes between its quotes, which are b's own: valid UTF-8
// with no escapes and no control characters, which encoding/json would keep as they are.
func (r *Reader) Span() []byte {
	if r.bad || !r.next('"') {
		r.bad = true
		return nil
	}
	start, ascii := r.i, true
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			out := r.b[start:r.i]
			r.i++
			if !ascii && !utf8.Valid(out) {
				r.bad = true
			}
			return out
		case c == '\\' || c < 0x20:
			r.bad = true
			return nil
		case c >= 0x80:
			ascii = false
		}
	}
	r.bad = true
	return nil
}

// Str reads a string, as Span does, into a string of its own.
func (r *Reader) Str() string { return string(r.Span()) }

// Known reads a string, sharing the memory of the one in names it equals (a closed set: roles,
// kinds, names of commands), or into a string of its own.
func (r *Reader) Known(names []string) string {
	b := r.Span()
	if i := index(names, b); i >= 0 {
		return names[i]
	}
	return string(b)
}

// Strings reads an array of strings; null reads as nil and [] as an empty slice, as
// encoding/json reads them into a []string.
func (r *Reader) Strings() []string {
	if r.Null() {
		return nil
	}
	out := []string{}
	r.Array(func() { out = append(out, r.Str()) })
	return out
}

// Null reads a null if one comes next, and reports whether it did; otherwise it reads nothing.
func (r *Reader) Null() bool {
	r.ws()
	if bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// Time reads a string as time.Time's UnmarshalJSON reads it: an RFC 3339 time.
func (r *Reader) Time() time.Time {
	var t time.Time
	r.ws()
	start := r.i
	if r.Span(); r.bad || t.UnmarshalJSON(r.b[start:r.i]) != nil {
		r.bad = true
	}
	return t
}

// Int reads a small non-negative integer (below 10⁹), written without sign, fraction or
// exponent: a version, a count.
func (r *Reader) Int() int {
	r.ws()
	start, n := r.i, 0
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		n = n*10 + int(r.b[r.i]-'0')
		r.i++
	}
	if d := r.i - start; d == 0 || d > 9 || (d > 1 && r.b[start] == '0') {
		r.bad = true
	}
	return n
}

// Uint reads a number that encoding/json reads into a uint64: digits without sign, fraction or
// exponent, at most 18446744073709551615.
func (r *Reader) Uint() uint64 {
	r.ws()
	start := r.i
	var n uint64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		d := uint64(r.b[r.i] - '0')
		if n > (1<<64-1-d)/10 {
			r.bad = true // too large for a uint64
		}
		n = n*10 + d
		r.i++
	}
	if d := r.i - start; d == 0 || (d > 1 && r.b[start] == '0') {
		r.bad = true
	}
	return n
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	r.ws()
	switch {
	case bytes.HasPrefix(r.b[r.i:], []byte("true")):
		r.i += 4
		return true
	case bytes.HasPrefix(r.b[r.i:], []byte("false")):
		r.i += 5
	default:
		r.bad = true
	}
	return false
}

// Skip reads past one JSON value of any kind, checking that it is well formed as json.Valid
// does: strings may hold escapes and invalid UTF-8, numbers may have a sign, a fraction and an
// exponent, objects any keys, each any number of times. Arrays and objects nest at most MaxDepth
// deep.
func (r *Reader) Skip() { r.skip(0) }

func (r *Reader) skip(depth int) {
	r.ws()
	if r.bad || r.i >= len(r.b) {
		r.bad = true
		return
	}
	switch c := r.b[r.i]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			r.bad = true
			return
		}
		r.i++
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		if r.next(end) {
			return
		}
		for !r.bad {
			if c == '{' {
				r.skipString()
				r.expect(':')
			}
			r.skip(depth + 1)
			if !r.next(',') {
				r.expect(end)
				return
			}
		}
	case c == '"':
		r.skipString()
	case c == '-' || c >= '0' && c <= '9':
		r.skipNumber()
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	default:
		r.bad = true
	}
}

// skipString reads past a string, escapes and all.
func (r *Reader) skipString() {
	if r.bad || !r.next('"') {
		r.bad = true
		return
	}
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			return
		case c < 0x20:
			r.bad = true
			return
		case c == '\\':
			r.i++
			if r.i >= len(r.b) {
				r.bad = true
				return
			}
			switch r.b[r.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i++
			case 'u':
				if r.i+4 >= len(r.b) || !isHex(r.b[r.i+1]) || !isHex(r.b[r.i+2]) || !isHex(r.b[r.i+3]) || !isHex(r.b[r.i+4]) {
					r.bad = true
					return
				}
				r.i += 5
			default:
				r.bad = true
				return
			}
		default:
			r.i++
		}
	}
	r.bad = true
}

// skipNumber reads past a number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (r *Reader) skipNumber() {
	r.at('-')
	switch {
	case r.at('0'):
	case r.i < len(r.b) && r.b[r.i] >= '1' && r.b[r.i] <= '9':
		r.digits()
	default:
		r.bad = true
		return
	}
	if r.at('.') {
		if !r.digits() {
			r.bad = true
			return
		}
	}
	if r.at('e') || r.at('E') {
		if !r.at('+') {
			r.at('-')
		}
		if !r.digits() {
			r.bad = true
		}
	}
}

// digits reads one or more decimal digits, or reports false.
func (r *Reader) digits() bool {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}

func (r *Reader) literal(s string) {
	if !bytes.HasPrefix(r.b[r.i:], []byte(s)) {
		r.bad = true
		return
	}
	r.i += len(s)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// ws reads whitespace, as JSON allows it between tokens.
func (r *Reader) ws() {
	for r.i < len(r.b) && r.b[r.i] <= ' ' && (r.b[r.i] == ' ' || r.b[r.i] == '\n' || r.b[r.i] == '\r' || r.b[r.i] == '\t') {
		r.i++
	}
}

// at reads c if it is the next byte, and reports whether it was.
func (r *Reader) at(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// next reads c if it is the next token, and reports whether it was.
func (r *Reader) next(c byte) bool {
	r.ws()
	return r.at(c)
}

func (r *Reader) expect(c byte) {
	if !r.next(c) {
		r.bad = true
	}
}

func index(names []string, b []byte) int {
	for i, n := range names {
		if string(b) == n {
			return i
		}
	}
	return -1
}
