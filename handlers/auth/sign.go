package auth

import (
	"crypto/ed25519"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

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
