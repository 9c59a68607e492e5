package handlers

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// claims are what a token says about its bearer.
type claims struct {
	Role    domain.Role `json:"role"`
	Service string      `json:"service,omitempty"`
	For     string      `json:"for,omitempty"` // the citizen a support person acts for
	jwt.RegisteredClaims
}

// Signer issues tokens with the embedded default's Ed25519 key. A real identity provider takes
// over by giving serve its public key instead (--token-public-key).
type Signer struct {
	key ed25519.PrivateKey
	now func() time.Time
}

// NewSigner returns a signer for the key.
func NewSigner(key ed25519.PrivateKey, now func() time.Time) *Signer {
	return &Signer{key: key, now: now}
}

// Issue returns a signed token for the actor, valid for ttl.
func (s *Signer) Issue(a domain.Actor, ttl time.Duration) (string, error) {
	if err := a.Validate(); err != nil {
		return "", err
	}
	if a.Role == domain.RoleProfessional && strings.TrimSpace(a.Service) == "" {
		return "", domain.FieldErrorf("service", "a professional's token names the service or centre they come from")
	}
	now := s.now()
	c := claims{
		Role: a.Role, Service: a.Service,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: TokenIssuer, Audience: jwt.ClaimStrings{TokenAudience}, Subject: a.ID.String(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: uuid.NewString(),
		},
	}
	if a.OnBehalfOf != uuid.Nil {
		c.For = a.OnBehalfOf.String()
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(s.key)
}

// Verifier checks tokens and says who is acting. It remembers tokens it has verified until they
// expire: a token cannot change, and checking its signature again costs more than the rest of a
// command (measured: a fifth of the CPU of a command over NATS).
type Verifier struct {
	key    crypto.PublicKey
	parser *jwt.Parser
	now    func() time.Time

	mu       sync.Mutex
	verified map[string]verifiedToken

	// Revocations, when set, lists tokens signed out before they expired; they are refused.
	Revocations *Revocations
}

type verifiedToken struct {
	actor     domain.Actor
	notBefore time.Time
	expires   time.Time
	key       string // the token's name in the revocation list
}

var errSignedOut = fmt.Errorf("%w: the token was signed out; sign in again", ErrUnauthenticated)

// maxVerified bounds the remembered tokens; when full, arbitrary ones are forgotten.
const maxVerified = 10_000

// NewVerifier returns a verifier for tokens signed by the holder of key (Ed25519, ECDSA or RSA)
// with the given issuer and audience.
func NewVerifier(key crypto.PublicKey, issuer, audience string, now func() time.Time) *Verifier {
	return &Verifier{key: key, now: now, verified: map[string]verifiedToken{}, parser: jwt.NewParser(
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

// Revoke signs a valid token out everywhere until it would have expired. Without Revocations it
// does nothing.
func (v *Verifier) Revoke(ctx context.Context, token string) error {
	if v.Revocations == nil {
		return nil
	}
	vt, err := v.verify(token)
	if err != nil {
		return err
	}
	return v.Revocations.Revoke(ctx, token, vt.expires)
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
		if v.Revocations.revoked(vt.key) {
			return verifiedToken{}, errSignedOut
		}
		return vt, nil
	}
	key := tokenKey(token)
	if v.Revocations.revoked(key) {
		return verifiedToken{}, errSignedOut
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %s", ErrUnauthenticated, tokenProblem(err))
	}
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
	vt = verifiedToken{actor: a, expires: c.ExpiresAt.Time, key: key}
	if c.NotBefore != nil {
		vt.notBefore = c.NotBefore.Time
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

// KeyFile is where the embedded default keeps its signing key, under the data directory.
func KeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "token-ed25519.pem") }

// LoadOrCreateKey reads the Ed25519 signing key at path, creating one (mode 0600) when there is
// none.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write token key %s: %w", path, err)
	}
	return key, nil
}

// LoadKey reads an Ed25519 private key in PKCS #8 PEM form.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read token key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read token key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read token key %s: not an Ed25519 key", path)
	}
	return key, nil
}

// LoadPublicKey reads a public key (Ed25519, ECDSA or RSA) in PKIX PEM form, as an identity
// provider publishes it.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token public key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read token public key %s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read token public key %s: %w", path, err)
	}
	return k, nil
}
