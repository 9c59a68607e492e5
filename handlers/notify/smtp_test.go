package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/handlers/notify"
)

// tlsServer is a real SMTP server that offers STARTTLS and PLAIN, and records whether each
// message came over TLS and from whom.
type tlsServer struct {
	addr string
	pool *x509.CertPool
	mu   sync.Mutex
	got  []tlsReceipt
}

type tlsReceipt struct {
	tls  bool
	user string
}

type tlsSession struct {
	srv  *tlsServer
	conn *smtp.Conn
	user string
}

func (s *tlsSession) Reset()                               {}
func (s *tlsSession) Logout() error                        { return nil }
func (s *tlsSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *tlsSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSession) AuthMechanisms() []string             { return []string{sasl.Plain} }
func (s *tlsSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != "aabendialog" || password != "hemmeligt-kodeord" {
			return errors.New("wrong user or password")
		}
		s.user = user
		return nil
	}), nil
}
func (s *tlsSession) Data(r io.Reader) error {
	_, _ = io.ReadAll(r)
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.got = append(s.srv.got, tlsReceipt{tls: isTLS, user: s.user})
	s.srv.mu.Unlock()
	return nil
}

func startTLSServer(t *testing.T) *tlsServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ts := &tlsServer{pool: x509.NewCertPool()}
	ts.pool.AddCert(cert)
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &tlsSession{srv: ts, conn: c}, nil }))
	s.Domain = "127.0.0.1"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ts
}

// TestSMTPUsesSTARTTLSAndAuthenticates: a server that offers STARTTLS gets the message over
// TLS, with the user and password; a wrong password, or a certificate the client does not
// trust, sends nothing.
func TestSMTPUsesSTARTTLSAndAuthenticates(t *testing.T) {
	ts := startTLSServer(t)
	n := notify.Notice{Seq: 1, Recipient: uuid.New(), Kind: notify.KindInvitation, Meeting: uuid.New(), CalSeq: -1, Created: time.Now()}
	send := func(password string, roots *x509.CertPool) error {
		ch, err := notify.NewSMTP(notify.SMTPConfig{Addr: ts.addr, From: "aabendialog@kommune.example.dk", User: "aabendialog", Password: password,
			TLS: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}})
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		return ch.Send(context.Background(), n, notify.Address{Email: "a@example.dk"}, publicURL)
	}
	if err := send("hemmeligt-kodeord", ts.pool); err != nil {
		t.Fatal(err)
	}
	if err := send("forkert", ts.pool); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("a wrong password: got %v, want the AUTH refused", err)
	}
	if err := send("hemmeligt-kodeord", x509.NewCertPool()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("an untrusted certificate: got %v, want STARTTLS to fail", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.got) != 1 || !ts.got[0].tls || ts.got[0].user != "aabendialog" {
		t.Fatalf("received %+v, want one message over TLS from aabendialog", ts.got)
	}
}

func TestSMTPConfigIsChecked(t *testing.T) {
	for _, c := range []struct{ addr, from, want string }{
		{"localhost", "a@b.dk", "--smtp"},
		{"127.0.0.1:25", "ingen-snabel-a", "--mail-from"},
		{"127.0.0.1:25", "Navn <a@b.dk>", "--mail-from"},
	} {
		if _, err := notify.NewSMTP(notify.SMTPConfig{Addr: c.addr, From: c.from}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %q: got %v, want an error naming %s", c.addr, c.from, err, c.want)
		}
	}
}
