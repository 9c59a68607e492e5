package domain

import (
	"slices"

	"github.com/google/uuid"
)

// CitizenSetsAgenda replaces the agenda with the citizen's own words.
type CitizenSetsAgenda struct {
	Meeting uuid.UUID `json:"meeting_id"`
	Items   []string  `json:"items"`
}

// CommandName implements Command.
func (*CitizenSetsAgenda) CommandName() string { return CmdCitizenSetsAgenda }

// MeetingID implements Command.
func (c *CitizenSetsAgenda) MeetingID() uuid.UUID { return c.Meeting }

// Validate implements Command.
func (c *CitizenSetsAgenda) Validate() error {
	if err := id("meeting_id", c.Meeting); err != nil {
		return err
	}
	if len(c.Items) == 0 {
		return FieldErrorf("items", "is missing: the agenda needs at least one item")
	}
	if len(c.Items) > MaxAgendaItems {
		return FieldErrorf("items", "has %d items; at most %d are allowed", len(c.Items), MaxAgendaItems)
	}
	for i, it := range c.Items {
		if err := text("items", it, true, MaxAgendaItem); err != nil {
			return atIndex(err, "items", i) // named only when refused: every agenda is checked
		}
	}
	return nil
}

// AgendaSet: the citizen set the agenda in their own words; it replaces any earlier agenda.
type AgendaSet struct {
	Items []string `json:"items"`
}

// EventType implements EventData.
func (AgendaSet) EventType() string { return TypeAgendaSet }

func (m *Meeting) setAgenda(a Actor, c *CitizenSetsAgenda) ([]Event, error) {
	if !a.ActsFor(m.citizen) {
		return nil, Errorf(Forbidden, "only the citizen or their support person sets the agenda; the agenda is the citizen's own words")
	}
	if err := m.notYetHeld("the agenda"); err != nil {
		return nil, err
	}
	return one(AgendaSet{Items: append([]string(nil), c.Items...)}), nil
}

func (m *Meeting) applyAgendaSet(_ Commit, e AgendaSet) { m.agenda = slices.Clone(e.Items) }
