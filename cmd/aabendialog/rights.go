package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/query"
)

// accessLogVerb is "aabendialog access-log": who has read the citizen's data, newest first.
var accessLogVerb = queryVerb{name: "access-log", usage: "access-log [--citizen ID] [--actor ID]",
	summary: "who has read your data (or, with a mandate, the citizen's you act for), when and why, newest first; administrators by citizen or by reader",
	params: func(fs flagSet) func() url.Values {
		c := fs.String("citizen", "", "the citizen (default: you, or the citizen you act for)")
		a := fs.String("actor", "", "administrators: only what this reader read (a misuse investigation; itself logged)")
		return func() url.Values { return nonEmpty(url.Values{"citizen": {*c}, "actor": {*a}}) }
	}, print: printAccessLog, lists: []string{"items"}}

var purposeWords = map[accesslog.Purpose]string{
	accesslog.PurposeMeeting: "taking part in a meeting", accesslog.PurposeSupport: "support on your behalf",
	accesslog.PurposeEvaluation: "evaluation (pseudonymised)", accesslog.PurposeAdministration: "administration",
}

func printAccessLog(w io.Writer, raw json.RawMessage) error {
	entries, err := pageItems[query.AccessView](raw)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(w, "Nobody but you has read your data in the period the access log keeps.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tROLE\tSERVICE\tNAME\tWHAT\tWHY")
	for _, e := range entries {
		what := e.What
		if e.MeetingID != uuid.Nil {
			what += " " + e.MeetingID.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04"), e.Role, orDash(e.Service), orDash(e.Name), what, purposeWords[e.Purpose])
	}
	return tw.Flush()
}

// openRights opens what guards the citizen's rights: the citizens' mandates (DIALOG_CITIZENS)
// and the access log (DIALOG_ACCESS, MaxAge = --access-log-retention), and the read side that
// checks the one and writes the other.
func (m *Main) openRights(ctx context.Context) error {
	var err error
	if m.Citizens, err = eventstore.OpenCitizens(ctx, m.nc, m.Config.Replicas); err != nil {
		return err
	}
	m.Citizens.Durable = m.durable()
	retention := m.Config.AccessLogRetention
	if retention == 0 {
		retention = accesslog.DefaultRetention
	}
	if m.AccessLog, err = accesslog.Open(ctx, m.nc, m.Config.Replicas, retention, time.Now); err != nil {
		return err
	}
	m.AccessLog.Durable = m.durable()
	if m.Config.AccessLogWait != accesslog.WaitAck {
		// Watches the acks until Close cancels the background work.
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		m.accessCancel = cancel
		m.AccessLog.Buffered(bg, m.Logger)
	}
	m.Logger.Info("access log ready", "stream", accesslog.StreamName, "retention", retention, "names_shown", m.Config.AccessLogNames, "wait", m.Config.AccessLogWait)
	m.Reads = &query.Reads{Access: m.AccessLog, AccessEntries: m.AccessLog}
	return nil
}

// parseRetention reads a retention in days (180d) or as a Go duration (4320h): at least an hour.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, errors.New("give a number of days such as 180d, or a duration such as 4320h")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("give a number of days such as 180d, or a duration such as 4320h")
		}
	}
	if d < time.Hour {
		return 0, errors.New("must be at least an hour")
	}
	return d, nil
}
