package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// SMTPConfig is the mail server notices are handed to.
type SMTPConfig struct {
	Addr     string // host:port
	From     string // the sender's address (--mail-from)
	User     string // empty: no authentication
	Password string
	// TLS is the client's TLS configuration for STARTTLS; nil checks the server's certificate
	// against the system's roots for the host of Addr.
	TLS *tls.Config
	Now func() time.Time
}

// SMTP is the e-mail channel. It keeps one connection open and sends on it one message at a
// time, dialling again after an error. STARTTLS is used whenever the server offers it; without
// it, the connection stays plain only to a loopback address, and authentication is refused on a
// plain connection (net/smtp's PLAIN refuses it too) except to loopback.
type SMTP struct {
	cfg SMTPConfig

	mu     sync.Mutex
	client *smtp.Client
	conn   net.Conn
}

// NewSMTP returns the e-mail channel for cfg.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("--smtp %q: give HOST:PORT: %w", cfg.Addr, err)
	}
	if at := strings.LastIndex(cfg.From, "@"); at < 1 || at == len(cfg.From)-1 || strings.ContainsAny(cfg.From, " <>\r\n") {
		return nil, fmt.Errorf("--mail-from %q: give an address such as aabendialog@kommune.dk", cfg.From)
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SMTP{cfg: cfg}, nil
}

// Send implements Channel.
func (s *SMTP) Send(ctx context.Context, n Notice, to Address, base string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		c, conn, err := s.dial(ctx)
		if err != nil {
			return err
		}
		s.client, s.conn = c, conn
	}
	err := s.send(n, to, base)
	if err != nil && !errors.Is(err, ErrPermanent) {
		_ = s.client.Close()
		s.client = nil
	}
	return err
}

func (s *SMTP) send(n Notice, to Address, base string) error {
	// An address from an identity provider's claims is not checked there: one that is not a
	// plain address would put its text into the message's header.
	if a, err := mail.ParseAddress(to.Email); err != nil || a.Address != to.Email || a.Name != "" {
		return fmt.Errorf("%w: %q is not an e-mail address", ErrPermanent, to.Email)
	}
	// A server that stops answering must not hold the sender for good.
	_ = s.conn.SetDeadline(time.Now().Add(time.Minute))
	defer s.conn.SetDeadline(time.Time{})
	c := s.client
	if err := c.Reset(); err != nil {
		return fmt.Errorf("smtp reset: %w", err)
	}
	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", classify(err))
	}
	if err := c.Rcpt(to.Email); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", classify(err))
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", classify(err))
	}
	if _, err := w.Write(Compose(n, s.cfg.From, to.Email, base, s.cfg.Now())); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", classify(err))
	}
	return nil
}

// classify marks a 5xx reply as permanent.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

func (s *SMTP) dial(ctx context.Context) (*smtp.Client, net.Conn, error) {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("smtp dial %s: %w", s.cfg.Addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)
	}
	fail := func(err error) (*smtp.Client, net.Conn, error) { c.Close(); return nil, nil, err }
	if err := c.Hello(helloName(s.cfg.From)); err != nil {
		return fail(fmt.Errorf("smtp EHLO: %w", err))
	}
	loopback := isLoopback(conn.RemoteAddr())
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.cfg.TLS); err != nil {
			return fail(fmt.Errorf("smtp STARTTLS: %w", err))
		}
	} else if !loopback {
		return fail(fmt.Errorf("smtp %s offers no STARTTLS: mail is sent over a plain connection only to a loopback address", s.cfg.Addr))
	}
	if s.cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.User, s.cfg.Password, host)); err != nil {
			return fail(fmt.Errorf("smtp AUTH as %s: %w", s.cfg.User, err))
		}
	}
	_ = conn.SetDeadline(time.Time{})
	return c, conn, nil
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// helloName is the name the client greets with: the sender's domain.
func helloName(from string) string { return from[strings.LastIndex(from, "@")+1:] }

// Close ends the connection to the mail server.
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Quit()
	s.client = nil
	return err
}
