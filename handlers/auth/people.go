package auth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aabendialog/aabendialog/domain"
)

// PeopleStream is the log of who is who: each identity at an identity provider (issuer,
// subject) is linked to our person id by an event on first sign-in, and later sign-ins record a
// changed profile. The meetings' log names people only by these ids.
const PeopleStream = "DIALOG_PEOPLE"

// peopleSubjects are the stream's subjects: dialog.people.<hex SHA-256 of issuer and subject>,
// one subject per identity, so that the first link of an identity is a write expecting its
// subject to be empty, and two processes cannot link one identity to two persons.
const peopleSubjects = "dialog.people.*"

// Identity is a person's account at an identity provider.
type Identity struct {
	Issuer  string
	Subject string
}

func (id Identity) subject() string {
	h := sha256.Sum256([]byte("identity\x00" + id.Issuer + "\x00" + id.Subject))
	return "dialog.people." + hex.EncodeToString(h[:])
}

// Profile is what the service knows of a person from their provider's claims: personal data,
// kept in the people log, never in the meetings' log.
type Profile struct {
	Person        uuid.UUID   `json:"person_id"`
	Role          domain.Role `json:"role"`
	Service       string      `json:"service,omitempty"` // a professional's, from the catalogue
	Name          string      `json:"name,omitempty"`
	Email         string      `json:"email,omitempty"`
	EmailVerified bool        `json:"email_verified,omitempty"`
}

// personEvent is one message of the people log: on an identity's subject, "person-linked" the
// first time it signs in and "profile-changed" when a later sign-in brings other claims; on an
// e-mail address's subject, "email-reserved" when someone is invited by that address before
// anyone signed in with it, and "email-bound" when the first identity with that address
// verified takes the reserved person id.
type personEvent struct {
	Type    string    `json:"type"`
	V       int       `json:"v"`
	Issuer  string    `json:"issuer,omitempty"`
	Subject string    `json:"subject,omitempty"`
	At      time.Time `json:"at"`
	Profile
	// OptOut is set on a "notices-changed" entry by a person who wants no e-mail.
	OptOut bool `json:"opt_out,omitempty"`
}

const (
	evLinked   = "person-linked"
	evChanged  = "profile-changed"
	evReserved = "email-reserved"
	evBound    = "email-bound"
	// evNotices, on a person's notices subject (noticesSubject), is where their notices go: the
	// address they were invited by, or the one they set, removed or opted out of (addresses.go).
	evNotices = "notices-changed"
)

func emailSubject(email string) string {
	h := sha256.Sum256([]byte("email\x00" + domain.NormalEmail(email)))
	return "dialog.people." + hex.EncodeToString(h[:])
}

// reservation is a person id waiting for whoever first signs in with an address verified.
type reservation struct {
	person uuid.UUID
	bound  bool
	seq    uint64
}

// People is the directory of persons who have signed in through an identity provider: every
// process reads the people log whole at start and follows it, so a lookup is a map read. A
// municipality's staff and citizens who signed in are thousands to a few hundred thousand
// profiles of a few hundred bytes.
type People struct {
	// Durable, when set, is waited for after every write, before it is acknowledged
	// (eventstore.Node.Durable: the node group commits by fsync).
	Durable func(context.Context) error

	js     jetstream.JetStream
	stream jetstream.Stream
	now    func() time.Time
	log    *slog.Logger

	mu           sync.RWMutex
	byIdentity   map[string]identityEntry // by subject
	profiles     map[uuid.UUID]Profile
	reservations map[string]reservation // by the address's subject
	verified     map[string]uuid.UUID   // normalised verified address -> the person who has it
	notices      map[uuid.UUID]noticeEntry
}

type identityEntry struct {
	profile Profile
	seq     uint64 // the subject's last sequence
}

// OpenPeople creates or opens the people log, reads it whole, and follows it until ctx ends.
func OpenPeople(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time, log *slog.Logger) (*People, error) {
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        PeopleStream,
		Description: "Åben Dialog: identities at identity providers linked to person ids, and their profiles (personal data)",
		Subjects:    []string{peopleSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		AllowDirect: replicas == 1,
		DenyDelete:  true,
	})
	if err != nil {
		return nil, fmt.Errorf("open the people log: %w", err)
	}
	p := &People{js: js, stream: stream, now: now, log: log, byIdentity: map[string]identityEntry{}, profiles: map[uuid.UUID]Profile{},
		reservations: map[string]reservation{}, verified: map[string]uuid.UUID{}, notices: map[uuid.UUID]noticeEntry{}}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the people log: %w", err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("read the people log: %w", err)
	}
	loaded := make(chan struct{})
	var once sync.Once
	if info.State.LastSeq == 0 {
		once.Do(func() { close(loaded) })
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		p.apply(m.Subject(), md.Sequence.Stream, m.Data())
		if md.Sequence.Stream >= info.State.LastSeq {
			once.Do(func() { close(loaded) })
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read the people log: %w", err)
	}
	go func() { <-ctx.Done(); cc.Stop() }()
	select {
	case <-loaded:
	case <-ctx.Done():
		return nil, fmt.Errorf("read the people log: %w", ctx.Err())
	}
	return p, nil
}

func (p *People) apply(subject string, seq uint64, data []byte) {
	var e personEvent
	if err := json.Unmarshal(data, &e); err != nil || e.Person == uuid.Nil {
		p.log.Error("the people log has an entry this version cannot read; it is passed over", "seq", seq, "subject", subject)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case evNotices:
		if cur, ok := p.notices[e.Person]; ok && cur.seq >= seq {
			return
		}
		p.notices[e.Person] = noticeEntry{email: e.Email, optOut: e.OptOut, seq: seq}
		return
	case evReserved, evBound:
		if cur, ok := p.reservations[subject]; ok && cur.seq >= seq {
			return
		}
		p.reservations[subject] = reservation{person: e.Person, bound: e.Type == evBound, seq: seq}
		return
	}
	if cur, ok := p.byIdentity[subject]; ok && cur.seq >= seq {
		return // already applied by the process that wrote it
	}
	p.byIdentity[subject] = identityEntry{profile: e.Profile, seq: seq}
	p.profiles[e.Person] = e.Profile
	if e.Email != "" && e.EmailVerified {
		if _, taken := p.verified[domain.NormalEmail(e.Email)]; !taken {
			p.verified[domain.NormalEmail(e.Email)] = e.Person
		}
	}
}

// SignedIn returns the person an identity is: on its first sign-in a new person id is linked to
// it by an event; later, a profile that differs from the one recorded (a new name, e-mail,
// role or service) is recorded. claims carries the profile from the provider (Person is
// ignored).
func (p *People) SignedIn(ctx context.Context, id Identity, claims Profile) (Profile, error) {
	subject := id.subject()
	for attempt := 0; attempt < 5; attempt++ {
		p.mu.RLock()
		cur, known := p.byIdentity[subject]
		p.mu.RUnlock()
		e := personEvent{Type: evLinked, V: 1, Issuer: id.Issuer, Subject: id.Subject, At: p.now().UTC(), Profile: claims}
		if known {
			e.Type, e.Person = evChanged, cur.profile.Person
			if e.Profile == cur.profile {
				return cur.profile, nil
			}
		} else {
			e.Person = uuid.New()
			if claims.EmailVerified && claims.Email != "" {
				// Invited by this address before signing in: take the reserved id, once.
				bound, err := p.bind(ctx, claims.Email)
				if err != nil {
					return Profile{}, err
				}
				if bound != uuid.Nil {
					e.Person = bound
				}
			}
		}
		data, err := json.Marshal(e)
		if err != nil {
			return Profile{}, err
		}
		if written, err := p.write(ctx, subject, cur.seq, data); err != nil {
			return Profile{}, fmt.Errorf("record the sign-in: %w", err)
		} else if !written {
			continue // another process linked or changed it first: decide again on what it wrote
		}
		return e.Profile, nil
	}
	return Profile{}, fmt.Errorf("record the sign-in: the person's entry kept changing")
}

// UsedToken is SignedIn for a bearer access token, which carries the person's role and
// service but seldom their name or e-mail: what the token leaves out is kept as recorded at
// their last sign-in, not erased.
func (p *People) UsedToken(ctx context.Context, id Identity, claims Profile) (Profile, error) {
	p.mu.RLock()
	cur, known := p.byIdentity[id.subject()]
	p.mu.RUnlock()
	if known && claims.Name == "" && claims.Email == "" {
		claims.Name, claims.Email, claims.EmailVerified = cur.profile.Name, cur.profile.Email, cur.profile.EmailVerified
	}
	return p.SignedIn(ctx, id, claims)
}

// bind takes the person id reserved for an address, if there is one not yet taken: the first
// identity to sign in with the address verified is that person. It returns uuid.Nil when there
// is none to take.
func (p *People) bind(ctx context.Context, email string) (uuid.UUID, error) {
	subject := emailSubject(email)
	for attempt := 0; attempt < 5; attempt++ {
		p.mu.RLock()
		r, ok := p.reservations[subject]
		p.mu.RUnlock()
		if !ok || r.bound {
			return uuid.Nil, nil
		}
		data, _ := json.Marshal(personEvent{Type: evBound, V: 1, At: p.now().UTC(), Profile: Profile{Person: r.person}})
		if written, err := p.write(ctx, subject, r.seq, data); err != nil {
			return uuid.Nil, fmt.Errorf("record the sign-in: %w", err)
		} else if !written {
			continue
		}
		return r.person, nil
	}
	return uuid.Nil, fmt.Errorf("record the sign-in: the address's entry kept changing")
}

// Reserve returns the person an e-mail address belongs to, for an invitation by address: the
// person who signed in with it verified, or else a person id reserved for it (by an event,
// the first time), which the first identity to sign in with the address verified becomes.
// The same address gives the same person every time. The reservation names the address only by
// the SHA-256 of its subject; the address itself is kept in the person's notices entry
// (addresses.go), since their notices are sent to it.
func (p *People) Reserve(ctx context.Context, email string) (uuid.UUID, error) {
	if err := domain.EmailAddress("email", email); err != nil {
		return uuid.Nil, err
	}
	subject := emailSubject(email)
	for attempt := 0; attempt < 5; attempt++ {
		p.mu.RLock()
		person, has := p.verified[domain.NormalEmail(email)]
		r, reserved := p.reservations[subject]
		p.mu.RUnlock()
		switch {
		case has:
			return person, nil
		case reserved:
			// Notices to the person go to the address they were invited by, until they say
			// otherwise.
			return r.person, p.keepInvitedAddress(ctx, r.person, email)
		}
		data, _ := json.Marshal(personEvent{Type: evReserved, V: 1, At: p.now().UTC(), Profile: Profile{Person: uuid.New()}})
		if _, err := p.write(ctx, subject, 0, data); err != nil {
			return uuid.Nil, fmt.Errorf("reserve the address's person: %w", err)
		}
		// Written, or someone else reserved it first: either way read back what stands.
	}
	return uuid.Nil, fmt.Errorf("reserve the address's person: the address's entry kept changing")
}

// write appends an entry to subject if the subject's last sequence is still expect, and applies
// it here at once. When another process wrote the subject first it reads what that process
// wrote instead and reports written false, for the caller to decide again.
func (p *People) write(ctx context.Context, subject string, expect uint64, data []byte) (written bool, err error) {
	ack, err := p.js.Publish(ctx, subject, data, jetstream.WithExpectLastSequencePerSubject(expect))
	if wrongLast(err) {
		return false, p.reload(ctx, subject)
	}
	if err == nil && p.Durable != nil {
		err = p.Durable(ctx)
	}
	if err != nil {
		return false, err
	}
	p.apply(subject, ack.Sequence, data)
	return true, nil
}

func wrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == 10164)
}

func (p *People) reload(ctx context.Context, subject string) error {
	m, err := p.stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return err
	}
	p.apply(subject, m.Sequence, m.Data)
	return nil
}

// Profile returns a person's profile, if they have signed in through a provider.
func (p *People) Profile(id uuid.UUID) (Profile, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	pr, ok := p.profiles[id]
	return pr, ok
}

// Professionals lists the professionals who have signed in, by service and name: the staff
// directory a citizen invites from. service, when given, narrows it to one service.
func (p *People) Professionals(service string) []Profile {
	p.mu.RLock()
	out := make([]Profile, 0, len(p.profiles))
	for _, pr := range p.profiles {
		if pr.Role == domain.RoleProfessional && (service == "" || pr.Service == service) {
			out = append(out, pr)
		}
	}
	p.mu.RUnlock()
	slices.SortFunc(out, func(a, b Profile) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Name, b.Name), strings.Compare(a.Person.String(), b.Person.String()))
	})
	return out
}
