package domain

import (
	"github.com/google/uuid"
)

// Role is who an actor is in the service. It is a closed set.
type Role string

// The roles an actor may have.
const (
	// RoleCitizen is the citizen whose meetings these are.
	RoleCitizen Role = "citizen"
	// RoleSupport is a support person (bisidder, relative) acting with the citizen's mandate.
	RoleSupport Role = "support"
	// RoleProfessional is a caseworker or other professional from a municipal centre or the region.
	RoleProfessional Role = "professional"
	// RoleNetwork is a member of the citizen's own network (family, friends) who has signed in.
	RoleNetwork Role = "network"
	// RoleEvaluator replays and evaluates pseudonymised histories; never gives meeting commands.
	RoleEvaluator Role = "evaluator"
	// RoleAdmin runs the service; gives no meeting commands either.
	RoleAdmin Role = "admin"
)

// ParseRole returns the role named s, or an Invalid error.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleCitizen, RoleSupport, RoleProfessional, RoleNetwork, RoleEvaluator, RoleAdmin:
		return r, nil
	}
	return "", FieldErrorf("role", "unknown role %q: use citizen, support, professional, network, evaluator or admin", s)
}

// Actor is the authenticated person giving a command. A support person carries the citizen they
// act for in OnBehalfOf; a professional carries the service or centre they come from.
type Actor struct {
	ID         uuid.UUID `json:"id"`
	Role       Role      `json:"role"`
	Service    string    `json:"service,omitempty"`
	OnBehalfOf uuid.UUID `json:"on_behalf_of,omitzero"`
}

// Validate checks that the actor is well formed.
func (a Actor) Validate() error {
	if a.ID == uuid.Nil {
		return FieldErrorf("actor.id", "is missing")
	}
	if _, err := ParseRole(string(a.Role)); err != nil {
		return FieldErrorf("actor.role", "unknown role %q", a.Role)
	}
	if a.Role == RoleSupport && a.OnBehalfOf == uuid.Nil {
		return FieldErrorf("actor.on_behalf_of", "a support person must name the citizen they act for")
	}
	if a.Role != RoleSupport && a.OnBehalfOf != uuid.Nil {
		return FieldErrorf("actor.on_behalf_of", "only a support person acts on someone's behalf")
	}
	return nil
}

// ActsFor reports whether the actor may act as the given citizen: the citizen themself, or a
// support person holding their mandate.
func (a Actor) ActsFor(citizen uuid.UUID) bool {
	switch a.Role {
	case RoleCitizen:
		return a.ID == citizen
	case RoleSupport:
		return a.OnBehalfOf == citizen
	}
	return false
}
