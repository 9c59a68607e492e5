package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/query"
)

// openRights opens what guards the citizen's rights: the citizens' mandates (DIALOG_CITIZENS)
// and the access log (DIALOG_ACCESS, MaxAge = --access-log-retention), and the read side that
// checks the one and writes the other.
func (m *Main) openRights(ctx context.Context) error {
	var err error
	if m.Citizens, err = eventstore.OpenCitizens(ctx, m.nc, m.Config.Replicas); err != nil {
		return err
	}
	retention := m.Config.AccessLogRetention
	if retention == 0 {
		retention = accesslog.DefaultRetention
	}
	if m.AccessLog, err = accesslog.Open(ctx, m.nc, m.Config.Replicas, retention, time.Now); err != nil {
		return err
	}
	m.Logger.Info("access log ready", "stream", accesslog.StreamName, "retention", retention, "names_shown", m.Config.AccessLogNames)
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
