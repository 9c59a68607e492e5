package domain

import (
	"fmt"
	"slices"
	"strings"
)

// ServiceOther is what evaluators see for a service outside the catalogue: free text written
// before there was a catalogue (or under another one) is read forever, but not shown to them,
// because it may hold anything, names and CPR numbers included.
const ServiceOther = "anden"

// DefaultServices is the embedded default's catalogue: the centres a Danish municipality's own
// papers name, and the region's psychiatry. A municipality configures its own (serve
// --service-catalogue FILE).
var DefaultServices = []string{
	"Center for Handicap og Psykiatri",
	"Center for Børn og Unge",
	"Center for Børn og Familie",
	"Center for Sundhed og Ældre",
	"Center for Arbejdsmarked og Integration",
	"Jobcenter",
	"Socialpsykiatrien",
	"Misbrugscenter",
	"Ydelsescenter",
	"Boligsocialt Team",
	"Regionspsykiatrien",
}

// Catalogue is the list of services professionals and the region come from, as the municipality
// configures it. Invitations and suggestions name a service from it; network members and others
// name none. It is plain data: the command service checks commands against it, the pages offer
// it as a choice, evaluators see ServiceOther for anything outside it.
type Catalogue struct {
	names []string
	has   map[string]bool
}

// NewCatalogue returns the catalogue of the given names: each one line of plain text of at most
// MaxService characters, none twice. The order is kept (the pages offer it in that order).
func NewCatalogue(names []string) (*Catalogue, error) {
	c := &Catalogue{has: map[string]bool{}}
	for i, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
			return nil, fmt.Errorf("service %d is empty", i+1)
		case !PlainText(n):
			return nil, fmt.Errorf("service %d (%q) has line breaks or control characters", i+1, n)
		case len([]rune(n)) > MaxService:
			return nil, fmt.Errorf("service %d is longer than %d characters", i+1, MaxService)
		case strings.EqualFold(n, ServiceOther):
			return nil, fmt.Errorf("service %d is %q, which is what evaluators see for services outside the catalogue", i+1, ServiceOther)
		case c.has[n]:
			return nil, fmt.Errorf("service %q is listed twice", n)
		}
		c.names, c.has[n] = append(c.names, n), true
	}
	if len(c.names) == 0 {
		return nil, fmt.Errorf("the catalogue lists no services")
	}
	return c, nil
}

// ParseCatalogue reads a catalogue file: one service per line; blank lines and lines starting
// with # are skipped. Errors name the line.
func ParseCatalogue(text string) (*Catalogue, error) {
	var names []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := NewCatalogue([]string{line}); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		names = append(names, line)
	}
	return NewCatalogue(names)
}

// DefaultCatalogue is the catalogue of DefaultServices.
func DefaultCatalogue() *Catalogue {
	c, err := NewCatalogue(DefaultServices)
	if err != nil {
		panic(err)
	}
	return c
}

// Names returns the services in the catalogue's order.
func (c *Catalogue) Names() []string { return slices.Clone(c.names) }

// Has reports whether s is a service in the catalogue.
func (c *Catalogue) Has(s string) bool { return c.has[s] }

// Evaluated is a service as evaluators see it: itself when in the catalogue, ServiceOther for
// anything else, "" for none.
func (c *Catalogue) Evaluated(s string) string {
	if s == "" || c.has[s] {
		return s
	}
	return ServiceOther
}

// Check refuses an invitation or suggestion whose service is not in the catalogue, or that
// names a service for someone who has none (a network member or other). Other commands pass.
// It runs after the command's own Validate, so the service is already plain text.
func (c *Catalogue) Check(cmd Command) error {
	var kind ParticipantKind
	var service string
	switch cmd := cmd.(type) {
	case *InviteParticipant:
		kind, service = cmd.Kind, cmd.Service
	case *SuggestParticipant:
		kind, service = cmd.Kind, cmd.Service
	default:
		return nil
	}
	switch {
	case service == "":
		return nil // required for professionals by the command's own Validate
	case kind == KindNetwork || kind == KindOther:
		return FieldErrorf("service", "a member of the citizen's network or someone else names no service; leave it out")
	case !c.has[service]:
		return FieldErrorf("service", "%q is not in the municipality's list of services; choose one of: %s", service, strings.Join(c.names, ", "))
	}
	return nil
}
