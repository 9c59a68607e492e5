package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/aabendialog/aabendialog/domain"
)

// ProviderKind says whom an identity provider signs in: citizens (MitID through a broker) or the
// municipality's staff.
type ProviderKind string

const (
	CitizenProvider ProviderKind = "citizen"
	StaffProvider   ProviderKind = "staff"
)

// ProviderConfig is one OpenID Connect provider the service is a relying party of.
type ProviderConfig struct {
	Kind         ProviderKind
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is where the provider sends the browser back: PUBLIC_URL/log-ind/<kind>/retur.
	RedirectURL string
	// RoleClaim and ServiceClaim name the staff provider's claims that carry a person's role
	// (professional, evaluator or admin) and service; unused for citizens.
	RoleClaim    string
	ServiceClaim string
	// Services is the catalogue a professional's service must be in.
	Services *domain.Catalogue
	// HTTPClient reaches the provider; nil is http.DefaultClient.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Provider is an OpenID Connect provider: the authorization code flow with PKCE, state and
// nonce for the pages, and, for the staff provider, its access tokens on the API. Discovery
// happens on first use and is retried on the next use while it fails, so a provider that is
// down when the service starts does not stop it; its keys (JWKS) are fetched again whenever a
// token names a key not seen yet, so the provider can rotate them.
type Provider struct {
	cfg ProviderConfig

	mu       sync.Mutex
	provider *oidc.Provider
	endpoint struct {
		EndSession string `json:"end_session_endpoint"`
	}
}

// NewProvider returns the provider of cfg, not yet discovered.
func NewProvider(cfg ProviderConfig) *Provider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if cfg.ServiceClaim == "" {
		cfg.ServiceClaim = "department"
	}
	if cfg.Services == nil {
		cfg.Services = domain.DefaultCatalogue()
	}
	return &Provider{cfg: cfg}
}

// Kind is whom the provider signs in.
func (p *Provider) Kind() ProviderKind { return p.cfg.Kind }

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

func (p *Provider) ctx(ctx context.Context) context.Context {
	if p.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, p.cfg.HTTPClient)
	}
	return ctx
}

// discover reads the provider's discovery document, once it succeeds.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	// The key set fetches keys later with this context's client but without its deadline.
	pr, err := oidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("the %s identity provider %s cannot be reached: %w", p.cfg.Kind, p.cfg.Issuer, err)
	}
	if err := pr.Claims(&p.endpoint); err != nil {
		return nil, fmt.Errorf("the %s identity provider's discovery document: %w", p.cfg.Kind, err)
	}
	p.provider = pr
	return pr, nil
}

func (p *Provider) oauth(pr *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: pr.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// FlowStart is what the start of a sign-in must remember until the provider sends the browser
// back: kept in a signed cookie, never on the server.
type FlowStart struct {
	State, Nonce, Verifier string
}

// NewFlow returns fresh random state, nonce and PKCE verifier.
func NewFlow() FlowStart {
	return FlowStart{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
}

// AuthURL is where the browser goes to sign in: the authorization code flow with the flow's
// state, nonce and S256 code challenge.
func (p *Provider) AuthURL(ctx context.Context, f FlowStart) (string, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth(pr).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// SignInRefused is a sign-in the provider vouched for that this service does not accept (no
// role it knows, a service outside the catalogue): the person is told why, in Danish.
type SignInRefused struct{ Reason string }

func (e *SignInRefused) Error() string { return "sign-in refused: " + e.Reason }

// ErrFlow is a callback that does not complete a flow this browser started: a forged or stale
// state, a code the provider refuses (used already, or for another client), an ID token that
// does not verify, or a nonce that is not the flow's.
var ErrFlow = errors.New("the sign-in did not complete")

// SignedInAs is who the provider vouched for.
type SignedInAs struct {
	Identity Identity
	Profile  Profile // Person is unset: the people log assigns it
}

// Exchange completes the flow: it trades the code (with the PKCE verifier) for tokens, verifies
// the ID token (signature by the provider's keys, issuer, audience, expiry) and its nonce, and
// reads the person from its claims. Errors wrap ErrFlow or are *SignInRefused; neither carries
// tokens or claims.
func (p *Provider) Exchange(ctx context.Context, f FlowStart, code string) (SignedInAs, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return SignedInAs{}, err
	}
	tok, err := p.oauth(pr).Exchange(p.ctx(ctx), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return SignedInAs{}, fmt.Errorf("%w: the provider refused the code (%s)", ErrFlow, re.ErrorCode)
		}
		return SignedInAs{}, fmt.Errorf("%w: the code could not be exchanged", ErrFlow)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return SignedInAs{}, fmt.Errorf("%w: the provider sent no ID token", ErrFlow)
	}
	idt, err := pr.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}).Verify(p.ctx(ctx), raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return SignedInAs{}, fmt.Errorf("%w: the ID token has expired", ErrFlow)
		}
		return SignedInAs{}, fmt.Errorf("%w: the ID token does not verify", ErrFlow)
	}
	if idt.Nonce == "" || idt.Nonce != f.Nonce {
		return SignedInAs{}, fmt.Errorf("%w: the ID token's nonce is not this sign-in's", ErrFlow)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		return SignedInAs{}, fmt.Errorf("%w: the ID token's claims cannot be read", ErrFlow)
	}
	prof, err := p.profile(c)
	if err != nil {
		return SignedInAs{}, err
	}
	return SignedInAs{Identity: Identity{Issuer: idt.Issuer, Subject: idt.Subject}, Profile: prof}, nil
}

// Discover reads the discovery document now rather than at the first sign-in, so the pages'
// Content-Security-Policy can name the provider's endpoints from the start (FormTargets).
func (p *Provider) Discover(ctx context.Context) error {
	_, err := p.discover(ctx)
	return err
}

// FormTargets are the origins a form on our pages may be sent on to: the issuer's, and once
// discovered, those of the authorization and end-session endpoints (the start of sign-in and
// sign-out are forms whose answer redirects there, and browsers hold such redirects to the
// page's form-action). It never reaches the provider itself.
func (p *Provider) FormTargets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	urls := []string{p.cfg.Issuer}
	if p.provider != nil {
		urls = append(urls, p.provider.Endpoint().AuthURL, p.endpoint.EndSession)
	}
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// EndSessionURL is where signing out ends the provider's session too, or "" when the provider
// offers no end_session_endpoint.
func (p *Provider) EndSessionURL(ctx context.Context, after string) string {
	if _, err := p.discover(ctx); err != nil || p.endpoint.EndSession == "" {
		return ""
	}
	q := url.Values{"client_id": {p.cfg.ClientID}, "post_logout_redirect_uri": {after}}.Encode()
	sep := "?"
	if strings.Contains(p.endpoint.EndSession, "?") {
		sep = "&"
	}
	return p.endpoint.EndSession + sep + q
}

// VerifyAccessToken checks a bearer access token from the provider (a JWT whose audience is our
// client id), as an API client sends it, and reads the person from its claims.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) (SignedInAs, time.Time, string, error) {
	pr, err := p.discover(ctx)
	if err != nil {
		return SignedInAs{}, time.Time{}, "", err
	}
	t, err := pr.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now}).Verify(p.ctx(ctx), raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return SignedInAs{}, time.Time{}, "", errExpired
		}
		return SignedInAs{}, time.Time{}, "", fmt.Errorf("%w: the identity provider's token does not verify here", ErrUnauthenticated)
	}
	var c map[string]any
	if err := t.Claims(&c); err != nil {
		return SignedInAs{}, time.Time{}, "", fmt.Errorf("%w: the token's claims cannot be read", ErrUnauthenticated)
	}
	prof, err := p.profile(c)
	if err != nil {
		return SignedInAs{}, time.Time{}, "", fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	jti, _ := c["jti"].(string)
	return SignedInAs{Identity: Identity{Issuer: t.Issuer, Subject: t.Subject}, Profile: prof}, t.Expiry, jti, nil
}

// Roles a staff provider's role claim may carry.
var staffRoles = []domain.Role{domain.RoleProfessional, domain.RoleEvaluator, domain.RoleAdmin}

// profile reads a person's profile from a provider's claims: everyone from the citizens'
// provider is a citizen; staff take their role from the role claim (exactly one of
// professional, evaluator, admin) and a professional their service from the service claim,
// matched against the catalogue.
func (p *Provider) profile(c map[string]any) (Profile, error) {
	pr := Profile{Name: claimString(c, "name"), Email: claimString(c, "email")}
	if pr.Name == "" {
		pr.Name = strings.TrimSpace(claimString(c, "given_name") + " " + claimString(c, "family_name"))
	}
	if v, ok := c["email_verified"].(bool); ok {
		pr.EmailVerified = v
	}
	if !domain.PlainText(pr.Name) || len(pr.Name) > 200 {
		pr.Name = ""
	}
	if !domain.PlainText(pr.Email) || len(pr.Email) > 254 || !strings.Contains(pr.Email, "@") {
		pr.Email, pr.EmailVerified = "", false
	}
	if p.cfg.Kind == CitizenProvider {
		pr.Role = domain.RoleCitizen
		return pr, nil
	}
	var found []domain.Role
	for _, v := range claimStrings(c, p.cfg.RoleClaim) {
		for _, r := range staffRoles {
			if strings.EqualFold(strings.TrimSpace(v), string(r)) && !slices.Contains(found, r) {
				found = append(found, r)
			}
		}
	}
	switch len(found) {
	case 0:
		return Profile{}, &SignInRefused{Reason: "Din konto har ingen rolle i Åben Dialog. Bed din leder eller IT-afdelingen om rollen fagperson, evaluator eller administrator."}
	case 1:
		pr.Role = found[0]
	default:
		return Profile{}, &SignInRefused{Reason: "Din konto har flere roller i Åben Dialog. Bed IT-afdelingen om at give den én af rollerne fagperson, evaluator eller administrator."}
	}
	if pr.Role == domain.RoleProfessional {
		svc := strings.TrimSpace(claimString(c, p.cfg.ServiceClaim))
		for _, n := range p.cfg.Services.Names() {
			if strings.EqualFold(n, svc) {
				pr.Service = n
			}
		}
		if pr.Service == "" {
			return Profile{}, &SignInRefused{Reason: "Din afdeling står ikke på kommunens liste over centre i Åben Dialog. Bed IT-afdelingen om at rette din afdeling, eller kommunen om at føje den til listen."}
		}
	}
	return pr, nil
}

func claimString(c map[string]any, name string) string {
	s, _ := c[name].(string)
	return strings.TrimSpace(s)
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(c map[string]any, name string) []string {
	switch v := c[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
