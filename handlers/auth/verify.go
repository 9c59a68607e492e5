// Package auth says who a request comes from: it signs and verifies tokens, keeps the list of
// signed-out tokens, and reads and creates the key and secret files under the data directory.
package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TokenIssuer and TokenAudience are the issuer and audience of the tokens this service signs.
const (
	TokenIssuer   = "aabendialog"
	TokenAudience = "aabendialog"
)

// leeway allows for clocks that differ a little between the token's issuer and this server.
const leeway = 30 * time.Second

// ErrUnauthenticated means the request carried no valid token: HTTP 401.
var ErrUnauthenticated = errors.New("unauthenticated")

// Verifier checks tokens and says who is acting. It remembers tokens it has verified until they
// expire: a token cannot change, and checking its signature again is a large share of a
// command's CPU (docs/benchmarks.md, "Commands over NATS").
type Verifier struct {
	key    crypto.PublicKey
	parser *jwt.Parser
	now    func() time.Time

	mu       sync.Mutex
	verified map[string]verifiedToken

	// Revocations, when set, lists tokens signed out before they expired; they are refused.
	Revocations *Revocations
	// Staff, when set, is the staff's identity provider: its access tokens (a JWT for our client
	// id, verified by the provider's keys) are accepted beside our own, and People links their
	// (issuer, subject) to our person ids.
	Staff  *Provider
	People *People
}

type verifiedToken struct {
	actor     domain.Actor
	notBefore time.Time
	expires   time.Time
	key       string // the token's name in the revocation list, from its issuer and id; "" without an id
	legacy    string // its name in lists written before tokens were named by id
}

// errExpired is a token that would be valid but for its expiry.
var errExpired = fmt.Errorf("%w: the token has expired; ask for a new one", ErrUnauthenticated)

var errSignedOut = fmt.Errorf("%w: the token was signed out; sign in again", ErrUnauthenticated)

// ErrCannotRevoke means a valid token carries no id (jti), so it cannot be signed out: it works
// until it expires. Every token this service issues has one; an identity provider's may not.
var ErrCannotRevoke = domain.Errorf(domain.Invalid, "this token has no id (jti), so it cannot be signed out; it stops working when it expires")

// maxVerified bounds the remembered tokens; when full, arbitrary ones are forgotten.
const maxVerified = 10_000

// NewVerifier returns a verifier for tokens signed by the holder of key (Ed25519, ECDSA or RSA)
// with the given issuer and audience.
func NewVerifier(key crypto.PublicKey, issuer, audience string, now func() time.Time) *Verifier {
	return &Verifier{key: key, now: now, verified: map[string]verifiedToken{}, parser: jwt.NewParser(
		// Strict base64: a token has exactly one spelling. Without it the unused low bits of the
		// signature's last character can be flipped, and the same signature verifies under a
		// new string (which a list keyed on the text would not know).
		jwt.WithStrictDecoding(),
		jwt.WithValidMethods([]string{"EdDSA", "ES256", "ES384", "RS256", "PS256"}),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience), jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway), jwt.WithTimeFunc(now),
	)}
}

// Actor returns the actor a bearer token names. Every failure wraps ErrUnauthenticated and says
// what was wrong, without echoing the token.
func (v *Verifier) Actor(token string) (domain.Actor, error) {
	vt, err := v.verify(token)
	return vt.actor, err
}

// CanRevoke reports whether tokens can be signed out: a revocation list is open.
func (v *Verifier) CanRevoke() bool { return v.Revocations != nil }

// Revoke signs a valid token out everywhere until it would have expired: every spelling and copy
// of it, because the list names a token by its issuer and id (jti), not by its text. A token
// without an id is refused with ErrCannotRevoke. Without Revocations it does nothing.
func (v *Verifier) Revoke(ctx context.Context, token string) error {
	if v.Revocations == nil {
		return nil
	}
	vt, err := v.verify(token)
	if err != nil {
		return err
	}
	if vt.key == "" {
		return ErrCannotRevoke
	}
	return v.Revocations.revoke(ctx, vt.key, vt.expires)
}

// maxLapse is how long after its expiry a token still says who typed a form (Lapsed).
const maxLapse = 24 * time.Hour

// Lapsed returns the actor of a token that this verifier would accept but for having expired
// within the last day: its signature, issuer and audience hold and it was not signed out. The
// pages use it to keep what someone typed while their session ran out for that same person; an
// unverified token's subject would let anyone plant a form on anyone.
func (v *Verifier) Lapsed(token string) (domain.Actor, error) {
	if a, err := v.Actor(token); err == nil || !errors.Is(err, errExpired) {
		return a, err
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil })
	if err == nil || !errors.Is(err, jwt.ErrTokenExpired) {
		return domain.Actor{}, fmt.Errorf("%w: %s", ErrUnauthenticated, tokenProblem(err))
	}
	// Expiry must be the only fault: the signature was checked before the claims, and any other
	// claim that fails joins the error.
	for _, other := range []error{jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidAudience, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing} {
		if errors.Is(err, other) {
			return domain.Actor{}, fmt.Errorf("%w: %s", ErrUnauthenticated, tokenProblem(other))
		}
	}
	if c.ExpiresAt == nil || v.now().Sub(c.ExpiresAt.Time) > maxLapse {
		return domain.Actor{}, fmt.Errorf("%w: the token expired too long ago", ErrUnauthenticated)
	}
	vt, err := v.token(token, c)
	if err != nil {
		return domain.Actor{}, err
	}
	if v.signedOut(vt) {
		return domain.Actor{}, errSignedOut
	}
	return vt.actor, nil
}

func (v *Verifier) verify(token string) (verifiedToken, error) {
	if token == "" {
		return verifiedToken{}, fmt.Errorf("%w: no token; send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	now := v.now()
	v.mu.Lock()
	vt, ok := v.verified[token]
	v.mu.Unlock()
	if ok && now.Before(vt.expires.Add(leeway)) && !now.Before(vt.notBefore.Add(-leeway)) {
		if v.signedOut(vt) {
			return verifiedToken{}, errSignedOut
		}
		return vt, nil
	}
	if v.fromStaffProvider(token) {
		var err error
		if vt, err = v.staffToken(token); err != nil {
			return verifiedToken{}, err
		}
	} else {
		var c claims
		if _, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
			if errors.Is(err, jwt.ErrTokenExpired) {
				return verifiedToken{}, errExpired
			}
			return verifiedToken{}, fmt.Errorf("%w: %s", ErrUnauthenticated, tokenProblem(err))
		}
		var err error
		if vt, err = v.token(token, c); err != nil {
			return verifiedToken{}, err
		}
	}
	if v.signedOut(vt) {
		return verifiedToken{}, errSignedOut
	}
	v.mu.Lock()
	if len(v.verified) >= maxVerified {
		n := 0
		for k := range v.verified {
			delete(v.verified, k)
			if n++; n >= maxVerified/10 {
				break
			}
		}
	}
	v.verified[token] = vt
	v.mu.Unlock()
	return vt, nil
}

// fromStaffProvider reports whether a token names the staff provider as its issuer (read before
// its signature is checked, to choose the keys that check it).
func (v *Verifier) fromStaffProvider(token string) bool {
	if v.Staff == nil || v.People == nil {
		return false
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return false
	}
	return c.Issuer == v.Staff.Issuer()
}

// staffToken verifies an access token of the staff provider and finds, or links, its person.
func (v *Verifier) staffToken(token string) (verifiedToken, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	as, expires, jti, err := v.Staff.VerifyAccessToken(ctx, token)
	if err != nil {
		return verifiedToken{}, err
	}
	prof, err := v.People.UsedToken(ctx, as.Identity, as.Profile)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("the staff token's person cannot be looked up: %w", err)
	}
	vt := verifiedToken{actor: domain.Actor{ID: prof.Person, Role: prof.Role, Service: prof.Service}, expires: expires, legacy: textKey(token)}
	if jti != "" {
		vt.key = idKey(v.Staff.Issuer(), jti)
	}
	return vt, nil
}

// token reads the actor and the revocation names of a token whose signature was checked.
func (v *Verifier) token(token string, c claims) (verifiedToken, error) {
	id, err := uuid.Parse(c.Subject)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("%w: the token's subject is not a UUID", ErrUnauthenticated)
	}
	a := domain.Actor{ID: id, Role: c.Role, Service: c.Service}
	if c.For != "" {
		if a.OnBehalfOf, err = uuid.Parse(c.For); err != nil {
			return verifiedToken{}, fmt.Errorf("%w: the token's \"for\" is not a UUID", ErrUnauthenticated)
		}
	}
	if err := a.Validate(); err != nil {
		return verifiedToken{}, fmt.Errorf("%w: the token names no valid actor: %v", ErrUnauthenticated, err)
	}
	vt := verifiedToken{actor: a, expires: c.ExpiresAt.Time, legacy: textKey(token)}
	if c.ID != "" {
		vt.key = idKey(c.Issuer, c.ID)
	}
	if c.NotBefore != nil {
		vt.notBefore = c.NotBefore.Time
	}
	return vt, nil
}

// signedOut reports whether the token is on the revocation list, by its id or, for entries
// written before tokens were named by id (they expire with the tokens), by its text.
func (v *Verifier) signedOut(vt verifiedToken) bool {
	return (vt.key != "" && v.Revocations.revoked(vt.key)) || v.Revocations.revoked(vt.legacy)
}

func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired; ask for a new one"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token's signature is not valid here"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token was issued for another service"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is not valid yet"
	}
	return "the token is not valid"
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header value.
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
