package domain

import (
	"testing"

	"github.com/google/uuid"
)

// BenchmarkValidateAgenda checks an agenda of three items, as every citizen-sets-agenda does.
//
//	go test ./domain -run '^$' -bench ValidateAgenda -benchmem
func BenchmarkValidateAgenda(b *testing.B) {
	c := &CitizenSetsAgenda{Meeting: uuid.New(), Items: []string{"Min bolig og min økonomi", "Hvem gør hvad", "Arbejde & penge"}}
	for b.Loop() {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
