package testnode_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/internal/testnode"
)

// TestStart: each way of starting gives a store that answers, over the connections asked for.
func TestStart(t *testing.T) {
	tests := []struct {
		name       string
		opts       []testnode.Option
		tcp        bool // the store's connection goes over TCP
		withReader bool
	}{
		{"in process", nil, false, false},
		{"over TCP", []testnode.Option{testnode.TCP()}, true, false},
		{"with a password and a reader", []testnode.Option{testnode.Password("u", "a-password-of-thirty-two-characters"), testnode.Reader()}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testnode.Start(t, tt.opts...)
			if _, err := e.Store.LastSeq(context.Background()); err != nil {
				t.Fatalf("last sequence: %v", err)
			}
			if got := e.Conn.Opts.InProcessServer == nil; got != tt.tcp {
				t.Errorf("store's connection over TCP: got %v, want %v", got, tt.tcp)
			}
			if got := e.Reader != nil; got != tt.withReader {
				t.Errorf("reader: got %v, want %v", got, tt.withReader)
			}
		})
	}
}

// TestPasswordIsRequired: with Password, a client without it is refused, so a test of the
// password-protected node is not passing because the node accepts anyone.
func TestPasswordIsRequired(t *testing.T) {
	e := testnode.Start(t, testnode.Password("u", "a-password-of-thirty-two-characters"))
	nc, err := nats.Connect(e.Node.ClientURL())
	if err == nil {
		nc.Close()
		t.Fatal("connected without the password, want a refusal")
	}
}
