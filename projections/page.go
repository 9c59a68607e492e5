package projections

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/aabendialog/aabendialog/domain"
)

// Page asks for one page of a list: at most Limit items (0: the list's default) after the
// position Cursor names ("" : from the start). A cursor is the NextCursor of the page before;
// it is opaque to callers and names a position in one list, so it survives writes between
// pages (keyset paging: nothing is skipped or shown twice when items are added).
type Page struct {
	Limit  int
	Cursor string
}

// Paged is one page of a list and the cursor of the next page, "" on the last one.
type Paged[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Limits are a list's default and largest page size.
type Limits struct{ Default, Max int }

// The page sizes of the lists. A page is also cut before it grows over MaxPageBytes of JSON.
var (
	HistoryLimits    = Limits{Default: 20, Max: 100}
	FollowUpLimits   = Limits{Default: 100, Max: 500}
	InboxLimits      = Limits{Default: 50, Max: 200} // per part: invitations, coming, follow-ups
	PerMeetingLimits = Limits{Default: 200, Max: 1000}
)

// MaxPageBytes bounds a page's JSON: a page holds at least one item, and no more items than fit
// in it. Only a single item larger than this (a meeting filled to every limit of the domain)
// makes a larger page.
const MaxPageBytes = 1 << 20

// PageParams reads the page a request asks for: limit (a page size) and cursor (the next_cursor
// of the page before), as every transport passes them.
func PageParams(p url.Values) (Page, error) {
	pg := Page{Cursor: p.Get("cursor")}
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return pg, domain.FieldErrorf("limit", "%q is not a page size (a whole number from 1)", v)
		}
		pg.Limit = n
	}
	return pg, nil
}

// Size is the page size p asks for, checked against l.
func (p Page) Size(l Limits) (int, error) {
	switch {
	case p.Limit == 0:
		return l.Default, nil
	case p.Limit < 0:
		return 0, domain.FieldErrorf("limit", "is %d; give a page size from 1 to %d", p.Limit, l.Max)
	case p.Limit > l.Max:
		return 0, domain.FieldErrorf("limit", "is %d, more than the largest page of %d; fetch the rest with next_cursor", p.Limit, l.Max)
	}
	return p.Limit, nil
}

// Cursor names the position after an item of the list kind by the values of its sort key.
func Cursor(kind string, key ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + strings.Join(key, "\x00")))
}

// ReadCursor returns the n values of the sort key a cursor of the list kind names, nil for ""
// (the start).
func ReadCursor(kind, cursor string, n int) ([]string, error) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != n+1 || parts[0] != kind {
		return nil, domain.FieldErrorf("cursor", "is not a cursor of %s; give the next_cursor of the page before, or none for the first page", kind)
	}
	return parts[1:], nil
}

// Fit cuts items (fetched one more than limit, to know whether there is a next page) to the
// page: at most limit items and budget bytes of JSON, at least one. It reports whether items
// are left for a next page.
func Fit[T any](items []T, limit, budget int) ([]T, bool) {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	total := 2
	for i := range items {
		b, err := json.Marshal(items[i])
		if err != nil {
			break // the transport reports it when it encodes the page
		}
		if total += len(b) + 1; total > budget && i > 0 {
			return items[:i], true
		}
	}
	return items, more
}
