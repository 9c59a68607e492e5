package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestTokenHasOneSpelling: a token whose signature's last character has its unused low bits
// flipped (the same signature to a lenient base64 decoder) is refused as malformed, so a
// signed-out token cannot come back under another spelling.
func TestTokenHasOneSpelling(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now
	v := auth.NewVerifier(pub, auth.TokenIssuer, auth.TokenAudience, now)
	tok, err := auth.NewSigner(priv, now).Issue(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Actor(tok); err != nil {
		t.Fatalf("the token as issued: %v", err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	respelt := tok[:len(tok)-1] + string(alphabet[last^1])
	if _, err := v.Actor(respelt); !errors.Is(err, auth.ErrUnauthenticated) || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("the respelt token: %v, want refused as malformed", err)
	}
}

// TestRevokeNeedsTokenID: signing out a valid token without an id (as an identity provider may
// issue) is refused with a reason instead of seeming to work; a token with an id is signed out
// and refused afterwards.
func TestRevokeNeedsTokenID(t *testing.T) {
	env := testnode.Start(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now
	v := auth.NewVerifier(pub, auth.TokenIssuer, auth.TokenAudience, now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	if v.Revocations, err = auth.OpenRevocations(ctx, env.Store.JetStream(), 1, now, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	noID, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": auth.TokenIssuer, "aud": auth.TokenAudience, "sub": uuid.NewString(), "role": "citizen",
		"exp": now().Add(time.Hour).Unix(),
	}).SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Actor(noID); err != nil {
		t.Fatalf("a valid token without an id is still accepted for use: %v", err)
	}
	if err := v.Revoke(ctx, noID); !errors.Is(err, auth.ErrCannotRevoke) || domain.KindOf(err) != domain.Invalid {
		t.Errorf("revoking a token without an id: %v, want ErrCannotRevoke", err)
	}
	withID, _ := auth.NewSigner(priv, now).Issue(domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}, time.Hour)
	if err := v.Revoke(ctx, withID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Actor(withID); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a signed-out token: %v, want refused", err)
	}
}
