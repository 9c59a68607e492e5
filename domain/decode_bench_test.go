package domain

import (
	"testing"

	"github.com/google/uuid"
)

// BenchmarkDecodeCommand measures DecodeCommand on the commands the command path reads most.
//
//	go test ./domain -run '^$' -bench DecodeCommand -benchmem
func BenchmarkDecodeCommand(b *testing.B) {
	m, p := uuid.New().String(), uuid.New().String()
	for _, tc := range []struct{ name, cmd, body string }{
		{"invite", CmdInviteParticipant, `{"meeting_id":"` + m + `","participant_id":"` + p + `","name":"Karin Holm","kind":"professional","service":"Jobcenter"}`},
		{"agenda", CmdCitizenSetsAgenda, `{"meeting_id":"` + m + `","items":["Min bolig og min økonomi","Hvem gør hvad","Arbejde & penge"]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			for b.Loop() {
				if _, err := DecodeCommand(tc.cmd, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
