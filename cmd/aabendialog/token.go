package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
)

// runToken issues a token signed with the embedded default's key, for trying the service and
// for tests. A real identity provider takes over with serve --token-public-key.
func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", "token --role ROLE --subject ID [--service NAME] [--for CITIZEN-ID] [--ttl DURATION] [--data DIR | --key FILE] [--link URL] [--json]", stderr)
	role := fs.String("role", "", "citizen, support, professional, network, evaluator or admin (required)")
	subject := fs.String("subject", "", "the person's id, a UUID; \"new\" makes one (required)")
	service := fs.String("service", "", "the service or centre a professional comes from (required for professionals)")
	forID := fs.String("for", "", "the citizen a support person acts for (required for support persons)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	data := fs.String("data", envOr("AABENDIALOG_DATA", "./data"), "the server's data directory, which holds the signing key (env AABENDIALOG_DATA)")
	keyFile := fs.String("key", "", "the signing key's file (default: DATA/keys/token-ed25519.pem, created if missing)")
	asJSON := fs.Bool("json", false, "print the token with the actor it names as JSON")
	link := fs.String("link", "", "print a sign-in link for the web pages at this server address (e.g. http://127.0.0.1:8080) instead of the bare token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	r, err := domain.ParseRole(*role)
	if err != nil {
		return usageError("--role: %v", err.(*domain.Error).Message)
	}
	a := domain.Actor{Role: r, Service: *service}
	switch *subject {
	case "":
		return usageError("--subject is required: the person's id, or \"new\"")
	case "new":
		a.ID = uuid.New()
	default:
		if a.ID, err = uuid.Parse(*subject); err != nil {
			return usageError("--subject %q is not a UUID", *subject)
		}
	}
	if *forID != "" {
		if a.OnBehalfOf, err = uuid.Parse(*forID); err != nil {
			return usageError("--for %q is not a UUID", *forID)
		}
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		return usageError("--ttl %s: give a duration from 1s to 720h", *ttl)
	}
	path := *keyFile
	if path == "" {
		path = auth.KeyFile(*data)
	}
	key, err := auth.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	token, err := auth.NewSigner(key, time.Now).Issue(a, *ttl)
	if err != nil {
		return usageError("%v", err)
	}
	var signIn string
	if *link != "" {
		u, err := url.Parse(*link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError("--link %q is not a server address like http://127.0.0.1:8080", *link)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + "/log-ind"
		u.RawQuery = url.Values{"token": {token}}.Encode()
		signIn = u.String()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		out := map[string]any{"token": token, "actor": a, "expires_at": time.Now().Add(*ttl).UTC().Format(time.RFC3339)}
		if signIn != "" {
			out["link"] = signIn
		}
		return enc.Encode(out)
	}
	if signIn != "" {
		fmt.Fprintln(stdout, signIn)
		return nil
	}
	fmt.Fprintln(stdout, token)
	return nil
}
