package notify

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// Channel carries a notice to a person: e-mail over SMTP (SMTP in smtp.go) is the working
// default. A Channel composes the message in its own form from the Notice, which holds nothing
// personal, and must put nothing personal in it either.
//
// Implementations to come, behind the same interface:
//
//   - Digital Post: a MeMo message (the Danish message format for public-sector mail, version
//     1.1) handed to the municipality's SF1601 integration (KOMBIT's "Send til Digital Post"),
//     addressed by the person's CPR number, which the municipality's own integration looks up.
//     The service itself never holds the CPR number: Address would carry a reference the
//     integration resolves. The MeMo's body is the same Danish text; the calendar part is an
//     attachment.
//   - NemSMS: the text alone (no calendar), to the number the person registered, through the
//     municipality's NemSMS integration; a reply is not read.
//
// Send is called for one notice at a time, so a crash leaves at most one notice in flight.
type Channel interface {
	// Send hands the notice to the channel. base is the service's public address for the
	// notice's links. It returns nil once the channel has taken responsibility for the
	// message; an error wrapping ErrPermanent means trying again will not help (the address was
	// refused), any other error is retried with backoff.
	Send(ctx context.Context, n Notice, to Address, base string) error
}

// Address is where a person's notices go on a channel.
type Address struct {
	Email string
}

// ErrPermanent marks a failure that sending again will not mend.
var ErrPermanent = errors.New("permanent failure")

// Addresses finds where a person's notices go. ok is false when the service has no address for
// them, they removed it, or they opted out of e-mail: then the notice waits on their inbox
// page. auth.People is the one implementation.
type Addresses interface {
	NoticeAddress(person uuid.UUID) (email string, ok bool)
}
