// Package testidp runs a real OpenID Connect provider (mockoidc: discovery, JWKS, authorization
// code with PKCE, one-time codes) on a loopback port for tests, and the people signing in at it.
package testidp

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is a person at the provider: their subject and the claims (Extra) the provider puts in their ID
// token beside the registered ones (which Override may replace).
type User struct {
	Sub      string
	Extra    map[string]any
	Override func(jwt.MapClaims)
}

// ID implements mockoidc.User.
func (u *User) ID() string { return u.Sub }

// Userinfo implements mockoidc.User.
func (u *User) Userinfo([]string) ([]byte, error) { return json.Marshal(u.Extra) }

// Claims implements mockoidc.User.
func (u *User) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	c := jwt.MapClaims{"iss": base.Issuer, "sub": base.Subject, "aud": []string(base.Audience), "exp": base.ExpiresAt.Unix(),
		"iat": base.IssuedAt.Unix(), "nbf": base.NotBefore.Unix(), "jti": base.ID, "nonce": base.Nonce}
	for k, v := range u.Extra {
		c[k] = v
	}
	if u.Override != nil {
		u.Override(c)
	}
	return c, nil
}

// Start starts a provider on a loopback port, with mw (if any) around its endpoints, and shuts
// it down when the test ends.
func Start(t testing.TB, mw func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if mw != nil {
		if err := m.AddMiddleware(mw); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}
