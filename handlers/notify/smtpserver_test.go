package notify_test

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server in the test process (emersion/go-smtp), keeping what it
// receives.
type mailServer struct {
	addr string

	mu       sync.Mutex
	received []received
	refuse   map[string]int // address -> how many more times to refuse it (temporary, 451)
	arrived  chan struct{}
}

type received struct {
	from, to string
	raw      []byte
	at       time.Time
}

func startMailServer(t testing.TB) *mailServer {
	t.Helper()
	ms := &mailServer{refuse: map[string]int{}, arrived: make(chan struct{}, 1)}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{ms: ms}, nil }))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = 1 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ms
}

type mailSession struct {
	ms       *mailServer
	from, to string
}

func (s *mailSession) Reset()        { s.from, s.to = "", "" }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.ms.mu.Lock()
	defer s.ms.mu.Unlock()
	if n := s.ms.refuse[to]; n != 0 {
		if n > 0 {
			s.ms.refuse[to] = n - 1
		}
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = to
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	s.ms.received = append(s.ms.received, received{from: s.from, to: s.to, raw: b, at: time.Now()})
	s.ms.mu.Unlock()
	select {
	case s.ms.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ms *mailServer) messages() []received {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]received(nil), ms.received...)
}

// parsed is a received message taken apart: its headers, its text and its calendar, if any.
type parsed struct {
	header   mail.Header
	text     string
	calendar *ical.Calendar
	calRaw   string
	method   string // the calendar part's method parameter
}

func parse(t testing.TB, raw []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	p := parsed{header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		p.text = decodePart(t, m.Header.Get("Content-Transfer-Encoding"), m.Body)
		return p
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		b, err := io.ReadAll(part) // multipart decodes quoted-printable itself
		if err != nil {
			t.Fatal(err)
		}
		switch pt {
		case "text/plain":
			p.text = string(b)
		case "text/calendar":
			p.calRaw, p.method = string(b), pp["method"]
			if p.calendar, err = ical.NewDecoder(bytes.NewReader(b)).Decode(); err != nil {
				t.Fatalf("calendar part does not parse: %v\n%s", err, b)
			}
		default:
			t.Fatalf("unexpected part %s", pt)
		}
	}
	return p
}

func decodePart(t testing.TB, cte string, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(cte, "quoted-printable") {
		b, err = io.ReadAll(quotedPrintable(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}
