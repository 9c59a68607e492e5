package natsrpc

import "testing"

// TestReplyAllowed: the service answers on inboxes only, never on a subject with a meaning of
// its own (the JetStream API, the log, a bucket) that a request could name as its reply.
func TestReplyAllowed(t *testing.T) {
	for reply, want := range map[string]bool{
		"_INBOX.abc.1":                 true,
		"_INBOX_client.abc.1":          true,
		ClientInboxPrefix("x") + ".y":  true,
		"_INBOX":                       false,
		"_INBOX.":                      false,
		"_INBOX..x":                    false,
		"_INBOX_":                      false,
		"_INBOX_.x":                    false,
		"_INBOX_client":                false,
		"_INBOX_client.":               false,
		"_INBOXES.x":                   false,
		"_INBOX.*":                     false,
		"_INBOX_client.>":              false,
		"$JS.API.STREAM.DELETE.DIALOG": false,
		"$KV.AABENDIALOG_REVOKED.x":    false,
		"dialog.events.a.b":            false,
		"dialog.cmd.convene-meeting":   false,
		"x._INBOX.y":                   false,
		"_INBOX.a b":                   false,
	} {
		if got := ReplyAllowed(reply); got != want {
			t.Errorf("ReplyAllowed(%q) = %v, want %v", reply, got, want)
		}
	}
}
