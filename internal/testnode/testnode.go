// Package testnode starts what most tests of the log stand on: an embedded NATS JetStream node
// in a directory of its own, a connection to it and the log opened on that connection.
package testnode

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/eventstore"
)

// Env is a running node, listening on 127.0.0.1 on a free port, with the log open on it.
type Env struct {
	// Dir is the node's data directory.
	Dir  string
	Node *eventstore.Node
	// Conn is the store's connection: in process, unless TCP was given.
	Conn *nats.Conn
	// Reader is the connection long reads stream over when Reader was given, else nil.
	Reader *nats.Conn
	Store  *eventstore.Store
}

// Option changes how Start and StartIn start the node or open the log.
type Option func(*settings)

type settings struct {
	node   eventstore.NodeConfig
	tcp    bool
	reader bool
}

// Fsync sets the node's durability; without it the node syncs every write (eventstore's
// default). Tests of the read side pass an interval: they measure read models, not the disk.
func Fsync(fs eventstore.Fsync) Option {
	return func(s *settings) { s.node.Fsync = fs }
}

// Password makes the node accept only this user and password, as serve's embedded node does;
// the helper's connections use them.
func Password(user, password string) Option {
	return func(s *settings) { s.node.User, s.node.Password = user, password }
}

// Client adds a client user to the node (it needs Password): one that may only publish to its
// subjects and receive on its own inbox prefix, as serve's client users.
func Client(c eventstore.ClientUser) Option {
	return func(s *settings) { s.node.Clients = append(s.node.Clients, c) }
}

// ServerFsync has the server fsync every write itself (eventstore.NodeConfig.ServerFsync), so
// every commit is its own write and fsync: the engine as it comes, for the benchmarks that
// compare it with group commit.
func ServerFsync() Option {
	return func(s *settings) { s.node.ServerFsync = true }
}

// TCP connects the store over the node's TCP port instead of in process, for tests that need
// the path a client on another process takes.
func TCP() Option {
	return func(s *settings) { s.tcp = true }
}

// Reader opens a second connection, over TCP, and gives it to the store as
// eventstore.Config.Reader, as serve does: long reads then stream over it.
func Reader() Option {
	return func(s *settings) { s.reader = true }
}

// Start starts a node in a new temporary directory of tb, connects and opens the log; tb's
// cleanups close them, and it fails tb if any step fails.
func Start(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	e, err := StartIn(tb.TempDir(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// StartIn is Start in a directory the caller owns and without a test's cleanups, for a log that
// outlives one test, such as a large log built once and shared by a run's benchmarks. The caller
// closes it and removes dir.
func StartIn(dir string, opts ...Option) (*Env, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	s.node.DataDir = dir // and port 0: any free port, so tests run side by side
	nd, err := eventstore.StartNode(s.node)
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Node: nd}
	connect := nd.Connect
	if s.tcp {
		connect = nd.ConnectTCP
	}
	if e.Conn, err = connect(); err != nil {
		e.Close()
		return nil, err
	}
	cfg := eventstore.Config{Durable: nd.Durable(), AfterDurable: nd.AfterDurable()}
	if s.reader {
		if e.Reader, err = nd.ConnectTCP(); err != nil {
			e.Close()
			return nil, err
		}
		cfg.Reader = e.Reader
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if e.Store, err = eventstore.Open(ctx, e.Conn, cfg); err != nil {
		e.Close()
		return nil, fmt.Errorf("open the log in %s: %w", dir, err)
	}
	return e, nil
}

// Close closes the connections and shuts the node down; it leaves the directory.
func (e *Env) Close() {
	if e.Reader != nil {
		e.Reader.Close()
	}
	if e.Conn != nil {
		e.Conn.Close()
	}
	e.Node.Shutdown()
}
