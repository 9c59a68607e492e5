package natsrpc

import "strings"

// ClientSubjects are the subjects a client user of NATS may publish to: the commands and the
// queries, nothing of the log.
func ClientSubjects() []string {
	return []string{CommandSubjectPrefix + "*", QuerySubjectPrefix + "*"}
}

// ClientInboxPrefix is the inbox prefix of the client user named user, _INBOX_<user>: the one
// subject tree that user may subscribe to, where its replies come.
func ClientInboxPrefix(user string) string { return "_INBOX_" + user }

// ReplyAllowed says whether a request's reply subject is one the service answers on: an inbox,
// _INBOX.… or _INBOX_<client>.…, without wildcards. NATS checks a publisher's rights on the
// subject it publishes to, not on the reply subject it names; were any reply subject answered,
// a client allowed only to send commands could name $JS.API.STREAM.DELETE.DIALOG,
// $KV.AABENDIALOG_REVOKED.… or dialog.events.… and have the service publish its answer there
// with the service's rights.
func ReplyAllowed(reply string) bool {
	rest, ok := strings.CutPrefix(reply, "_INBOX")
	if !ok || strings.ContainsAny(reply, "*> \t\r\n") {
		return false
	}
	if rest, ok = strings.CutPrefix(rest, "."); ok {
		return rest != "" && !strings.HasPrefix(rest, ".")
	}
	if rest, ok = strings.CutPrefix(rest, "_"); !ok {
		return false
	}
	prefix, tail, ok := strings.Cut(rest, ".")
	return ok && prefix != "" && tail != "" && !strings.HasPrefix(tail, ".")
}
