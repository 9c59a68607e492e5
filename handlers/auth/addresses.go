package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// noticeEntry is where a person's notices go, as the people log last said.
type noticeEntry struct {
	email  string // "" once removed
	optOut bool
	seq    uint64
}

// noticesSubject is the subject of a person's notice settings: one per person, so a change is a
// compare-and-set on it.
func noticesSubject(person uuid.UUID) string {
	h := sha256.Sum256([]byte("notices\x00" + person.String()))
	return "dialog.people." + hex.EncodeToString(h[:])
}

// NoticeSettings is where a person's notices go.
type NoticeSettings struct {
	// Email is the address notices are sent to; empty when there is none.
	Email string
	// OptOut: the person wants no e-mail; their notices wait on their inbox page.
	OptOut bool
	// FromSignIn: the address is the one their identity provider gave, not one they set.
	FromSignIn bool
}

// Notices returns where a person's notices go: the address they set (or were invited by), else
// the verified address from their sign-in.
func (p *People) Notices(person uuid.UUID) NoticeSettings {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if e, ok := p.notices[person]; ok {
		return NoticeSettings{Email: e.email, OptOut: e.optOut}
	}
	if pr, ok := p.profiles[person]; ok && pr.Email != "" && pr.EmailVerified {
		return NoticeSettings{Email: pr.Email, FromSignIn: true}
	}
	return NoticeSettings{}
}

// NoticeAddress returns the address a person's notices are e-mailed to; ok is false when there is
// none or they opted out (notify.Addresses).
func (p *People) NoticeAddress(person uuid.UUID) (string, bool) {
	s := p.Notices(person)
	if s.OptOut || s.Email == "" {
		return "", false
	}
	return s.Email, true
}

// ChangeNotices records where a person's notices go from now on: a new address, none (remove
// it), or no e-mail at all (opt out). An address that is not one is refused, naming "email".
func (p *People) ChangeNotices(ctx context.Context, person uuid.UUID, email string, optOut bool) error {
	email = strings.TrimSpace(email)
	if email != "" {
		if err := domain.EmailAddress("email", email); err != nil {
			return err
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		p.mu.RLock()
		cur := p.notices[person]
		p.mu.RUnlock()
		if written, err := p.writeNotices(ctx, person, cur.seq, email, optOut); err != nil {
			return fmt.Errorf("record where notices go: %w", err)
		} else if written {
			return nil
		}
	}
	return fmt.Errorf("record where notices go: the person's entry kept changing")
}

// keepInvitedAddress records the address a reserved person was invited by as where their
// notices go, unless something is recorded already.
func (p *People) keepInvitedAddress(ctx context.Context, person uuid.UUID, email string) error {
	p.mu.RLock()
	_, known := p.notices[person]
	p.mu.RUnlock()
	if known {
		return nil
	}
	if _, err := p.writeNotices(ctx, person, 0, domain.NormalEmail(email), false); err != nil {
		return fmt.Errorf("record the invited address: %w", err)
	}
	return nil // written, or someone else recorded one first: either stands
}

func (p *People) writeNotices(ctx context.Context, person uuid.UUID, expect uint64, email string, optOut bool) (bool, error) {
	data, err := json.Marshal(personEvent{Type: evNotices, V: 1, At: p.now().UTC(), Profile: Profile{Person: person, Email: email}, OptOut: optOut})
	if err != nil {
		return false, err
	}
	return p.write(ctx, noticesSubject(person), expect, data)
}
