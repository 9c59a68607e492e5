package natsrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/nats-io/nats.go"
)

// QuerySubjectPrefix starts every query subject over NATS: dialog.query.<query-name>.
const QuerySubjectPrefix = "dialog.query."

// QueryQueue is the queue group of the query handlers.
const QueryQueue = "aabendialog-queries"

// ServeQueries answers queries over NATS in the shared queue group until ctx ends.
func ServeQueries(ctx context.Context, nc *nats.Conn, qs Querier, v Verifier, log *slog.Logger) error {
	sub, err := nc.QueueSubscribe(QuerySubjectPrefix+"*", QueryQueue, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		if !ReplyAllowed(m.Reply) { // see ReplyAllowed: the answer would go where the sender says
			log.Warn("query refused unread: its reply subject is not an inbox", "subject", m.Subject, "reply", m.Reply)
			return
		}
		status, body := http.StatusOK, any(nil)
		actor, err := v.Actor(auth.BearerToken(m.Header.Get(HeaderAuthorization)))
		if err == nil {
			params := url.Values{}
			if len(m.Data) > 0 {
				var raw map[string]any
				if jerr := json.Unmarshal(m.Data, &raw); jerr != nil {
					err = domain.FieldErrorf("body", "is not a JSON object of parameters")
				}
				for k, val := range raw {
					params.Set(k, fmt.Sprint(val))
				}
			}
			if err == nil {
				body, err = qs.Do(ctx, actor, strings.TrimPrefix(m.Subject, QuerySubjectPrefix), params)
			}
		}
		if err != nil {
			status, body = command.Status(err)
			if status == http.StatusInternalServerError {
				log.Error("query failed", "subject", m.Subject, "err", err)
			}
		}
		data, _ := json.Marshal(body)
		out := &nats.Msg{Subject: m.Reply, Data: data, Header: nats.Header{}}
		out.Header.Set(HeaderStatus, strconv.Itoa(status))
		_ = nc.PublishMsg(out)
	})
	if err != nil {
		return fmt.Errorf("subscribe to queries: %w", err)
	}
	<-ctx.Done()
	return sub.Drain()
}
