package evaluation

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/google/uuid"
)

// Pseudonyms turns person ids into stable keyed-hash pseudonyms. The key is the server's; an
// evaluator never holds it, so a pseudonym cannot be turned back into an id by them.
type Pseudonyms struct{ key []byte }

// NewPseudonyms returns pseudonyms under key.
func NewPseudonyms(key []byte) *Pseudonyms { return &Pseudonyms{key: key} }

// Of returns the pseudonym of a person id: "p-" and 16 characters of HMAC-SHA256.
func (p *Pseudonyms) Of(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	m := hmac.New(sha256.New, p.key)
	m.Write(id[:])
	return "p-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))[:16])
}
