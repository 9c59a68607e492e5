package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// TestServiceCatalogueFile: serve --service-catalogue takes the municipality's own list:
// invitations name a service from it and nothing else, on every transport (here HTTP); a bad
// file stops serve with the line it is on.
func TestServiceCatalogueFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("# Kommunens centre\nJobcenter\nJobcenter\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := cli(t, "serve", "--data", filepath.Join(dir, "data-bad"), "--service-catalogue", bad, "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errs, "--service-catalogue") || !strings.Contains(errs, "listed twice") {
		t.Fatalf("serve with a bad catalogue: exit %d\n%s", code, errs)
	}

	own := filepath.Join(dir, "services.txt")
	if err := os.WriteFile(own, []byte("Center for Rusmiddelbehandling\nRegionspsykiatrien\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServerOn(t, filepath.Join(dir, "data"), "--service-catalogue", own)
	citizen := domain.Actor{ID: uuid.New(), Role: domain.RoleCitizen}
	tok := token(t, srv.data, citizen)
	send := viaHTTP(srv)
	m := uuid.New()
	if o := send(t, tok, step{name: "convene-meeting", body: map[string]any{"meeting_id": m, "citizen_id": citizen.ID, "title": "Mit møde"}}); o.status != 200 {
		t.Fatalf("convene: %+v", o)
	}
	invite := func(service string) outcome {
		return send(t, tok, step{name: "invite-participant", body: map[string]any{"meeting_id": m, "participant_id": uuid.New(), "name": "Karin", "kind": "professional", "service": service}})
	}
	if o := invite("Center for Rusmiddelbehandling"); o.status != 200 {
		t.Errorf("a service from the municipality's catalogue: %+v", o)
	}
	if o := invite("Jobcenter"); o.status != 400 || o.field != "service" || !strings.Contains(o.message, "Center for Rusmiddelbehandling") {
		t.Errorf("a service only in the embedded default: %+v, want 400 naming the catalogue", o)
	}
}
