package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/notify"
)

// NoticesConfig is how serve sends notices and reminders.
type NoticesConfig struct {
	SMTP             string // host:port of the mail server; empty: no e-mail, notices wait on the inbox page
	MailFrom         string
	SMTPUser         string
	SMTPPasswordFile string
	RemindBefore     []time.Duration
	// Poll and FirstRetry are for tests (0: the defaults).
	Poll, FirstRetry time.Duration
}

// addNoticeFlags adds serve's notice flags; the returned function checks them after parsing.
func addNoticeFlags(fs *flag.FlagSet, cfg *ServeConfig) func() error {
	n := &cfg.Notices
	fs.StringVar(&n.SMTP, "smtp", envOr("AABENDIALOG_SMTP", ""), "HOST:PORT of the mail server notices and reminders are handed to (STARTTLS when it offers it; plain only to loopback); without it notices wait on the person's inbox page (env AABENDIALOG_SMTP)")
	fs.StringVar(&n.MailFrom, "mail-from", envOr("AABENDIALOG_MAIL_FROM", ""), "the sender address of notices, e.g. aabendialog@kommune.dk; needed with --smtp (env AABENDIALOG_MAIL_FROM)")
	fs.StringVar(&n.SMTPUser, "smtp-user", envOr("AABENDIALOG_SMTP_USER", ""), "user name at the mail server, with --smtp-password-file (env AABENDIALOG_SMTP_USER)")
	fs.StringVar(&n.SMTPPasswordFile, "smtp-password-file", envOr("AABENDIALOG_SMTP_PASSWORD_FILE", ""), "file holding the password at the mail server (env AABENDIALOG_SMTP_PASSWORD_FILE)")
	remind := fs.String("remind-before", envOr("AABENDIALOG_REMIND_BEFORE", "48h,2h"), "how long before a meeting its invitees who have not declined are reminded, comma-separated durations; \"none\" for no reminders (env AABENDIALOG_REMIND_BEFORE)")
	return func() error {
		var err error
		if n.RemindBefore, err = parseRemindBefore(*remind); err != nil {
			return usageError("--remind-before %q: %v", *remind, err)
		}
		switch {
		case n.SMTP != "" && n.MailFrom == "":
			return usageError("--smtp needs --mail-from: the address notices are sent from")
		case n.SMTP != "" && cfg.PublicURL == "":
			return usageError("--smtp needs --public-url: notices link to the service's pages")
		case (n.SMTPUser == "") != (n.SMTPPasswordFile == ""):
			return usageError("--smtp-user and --smtp-password-file go together: give both")
		case n.SMTP == "" && (n.MailFrom != "" || n.SMTPUser != ""):
			return usageError("--mail-from and --smtp-user need --smtp: the mail server's HOST:PORT")
		}
		return nil
	}
}

func parseRemindBefore(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "none" || s == "" {
		return nil, nil
	}
	var out []time.Duration
	for f := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a duration such as 48h or 2h30m", strings.TrimSpace(f))
		}
		for _, o := range out {
			if notify.ReminderKind(o) == notify.ReminderKind(d) {
				return nil, fmt.Errorf("%s is named twice", d)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// noAddresses is where notices go without a mail server: nowhere but the inbox page.
type noAddresses struct{}

func (noAddresses) NoticeAddress(uuid.UUID) (string, bool) { return "", false }

// openNotices starts the reaction that tells people: its outbox and schedule in DATA/notices.
func (m *Main) openNotices(ctx context.Context) error {
	cfg := m.Config.Notices
	dir := filepath.Join(m.Config.DataDir, "notices")
	if _, err := eventstore.SecureDir(dir); err != nil {
		return fmt.Errorf("notices: %w", err)
	}
	var ch notify.Channel
	var addrs notify.Addresses = noAddresses{}
	if cfg.SMTP != "" {
		var password string
		if cfg.SMTPPasswordFile != "" {
			b, err := os.ReadFile(cfg.SMTPPasswordFile)
			if err != nil {
				return usageError("--smtp-password-file: %v", err)
			}
			password = strings.TrimSpace(string(b))
		}
		mail, err := notify.NewSMTP(notify.SMTPConfig{Addr: cfg.SMTP, From: cfg.MailFrom, User: cfg.SMTPUser, Password: password})
		if err != nil {
			return usageError("%v", err)
		}
		m.mail, ch, addrs = mail, mail, m.People
	}
	var err error
	m.Notices, err = notify.Open(ctx, filepath.Join(dir, "notices.db"), m.Store, ch, addrs, notify.Config{
		PublicURL: m.Config.PublicURL, RemindBefore: cfg.RemindBefore, SkipUnreadable: m.Config.SkipUnreadable,
		Poll: cfg.Poll, FirstRetry: cfg.FirstRetry}, time.Now, m.Metrics.Registry, m.Logger)
	if err != nil {
		return err
	}
	m.bgWG.Add(1)
	go func() {
		defer m.bgWG.Done()
		if err := m.Notices.Run(ctx); err != nil {
			m.Logger.Error("notices stopped", "err", err)
		}
	}()
	m.Logger.Info("notices", "smtp", cfg.SMTP, "mail_from", cfg.MailFrom, "remind_before", cfg.RemindBefore, "checkpoint", m.Notices.Checkpoint())
	return nil
}

func (m *Main) closeNotices() error {
	var first error
	if m.Notices != nil {
		first = m.Notices.Close()
	}
	if m.mail != nil {
		if err := m.mail.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
