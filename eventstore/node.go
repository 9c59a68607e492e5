// Package eventstore keeps the log of meeting commits in a NATS JetStream stream: an embedded
// node for one machine, or a JetStream cluster; append with optimistic concurrency and
// retry-safe deduplication; load a meeting (cached); read from a position or as of a moment.
package eventstore

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"
)

// Fsync says when the embedded node flushes the log to disk.
type Fsync struct {
	// Always flushes before every acknowledgement: an acknowledged commit is on disk.
	Always bool
	// Interval is how often the node flushes when Always is false. A crash or power failure may
	// lose what was acknowledged since the last flush.
	Interval time.Duration
}

// FsyncAlways is the durable default.
var FsyncAlways = Fsync{Always: true}

// ParseFsync reads "always" or a duration such as "1s" or "2m".
func ParseFsync(s string) (Fsync, error) {
	if s == "always" {
		return FsyncAlways, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Fsync{}, fmt.Errorf("fsync %q: use \"always\" or a positive interval such as 1s or 2m", s)
	}
	return Fsync{Interval: d}, nil
}

func (f Fsync) String() string {
	if f.Always {
		return "always"
	}
	return f.Interval.String()
}

// NodeConfig configures an embedded NATS JetStream node.
type NodeConfig struct {
	// DataDir holds the JetStream store.
	DataDir string
	// Name is the server's name; it must be unique and stable within a cluster.
	Name string
	// Host and Port are where NATS clients connect. Port 0 picks a free port; the node always
	// listens, because a node that does not listen cannot route to a cluster (nats-server#5174).
	Host string
	Port int
	// Fsync is the durability setting; the zero value means FsyncAlways.
	Fsync Fsync
	// ServerFsync, with FsyncAlways, has the server fsync every write itself (nats-server's
	// sync_interval: always), as a cluster's node always does. Without it a single node's server
	// writes without syncing and the node group commits by fsync (WaitDurable): writers that
	// need their write on disk wait for it after the server's answer.
	ServerFsync bool
	// Cluster, when set, makes the node one of a JetStream cluster.
	Cluster *ClusterConfig
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
	// User and Password, when Password is set, are the service's own user, the only one with
	// every right: the log, the meeting index, the revocation bucket and the JetStream API.
	// Anyone else who can reach the port could otherwise write to the log past every rule of the
	// domain, or read it whole. Connect and ConnectTCP use them.
	User, Password string
	// Clients are the other users the port accepts, each allowed only what its ClientUser says;
	// they need User and Password.
	Clients []ClientUser
}

// ClientUser is a user of the node that may publish only to Publish (the subjects of the
// commands and the queries) and receive only on its own inbox prefix: its replies. It cannot
// use JetStream (no stream, no bucket, no API), read the log, nor see any other client's
// messages, since it may subscribe to nothing else.
type ClientUser struct {
	User, Password string
	// InboxPrefix is where its replies come: the client connects with
	// nats.CustomInboxPrefix(InboxPrefix) and may subscribe to InboxPrefix.> only. Two clients of
	// one user share it, and each could then read the other's replies: give every client
	// application a user (and prefix) of its own.
	InboxPrefix string
	// Publish are the subjects it may publish to (wildcards allowed).
	Publish []string
}

// Permissions are the rights of a client user as nats-server holds them.
func (c ClientUser) Permissions() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(c.Publish)},
		Subscribe: &server.SubjectPermission{Allow: []string{c.InboxPrefix + ".>"}},
	}
}

// ClusterConfig makes an embedded node a member of a JetStream cluster.
type ClusterConfig struct {
	Name string
	Host string
	Port int
	// Routes are the other members' cluster addresses, host:port.
	Routes []string
}

// Node is an embedded NATS server with JetStream.
type Node struct {
	srv            *server.Server
	user, password string
	dataDir        string
	// syncer fsyncs for the server when it does not sync every write itself; nil otherwise.
	syncer *syncer
}

// StartNode starts an embedded node and waits until it accepts connections.
func StartNode(cfg NodeConfig) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("start node: data dir is required")
	}
	// The store holds every commit: its directory is the owner's alone.
	tightened, err := SecureDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if tightened && cfg.Logger != nil {
		cfg.Logger.Warn("the log's directory could be read by others; now only its owner can", "dir", cfg.DataDir)
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	fs := cfg.Fsync
	if !fs.Always && fs.Interval == 0 {
		fs = FsyncAlways
	}
	// Group commit by fsync on a single node: the server writes, the node syncs (WaitDurable).
	groupFsync := fs.Always && !cfg.ServerFsync && cfg.Cluster == nil
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		SyncAlways: fs.Always && !groupFsync,
		NoSigs:     true,
		// Room for a large commit; the handlers limit what one command may carry.
		MaxPayload: 8 << 20,
	}
	if opts.Users, err = users(cfg); err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	switch {
	case groupFsync:
		// The server's own flush, for what the node does not sync: blocks rewritten by a
		// compaction, and the streams' state files (rebuilt from the blocks when stale).
		opts.SyncInterval = groupFsyncServerInterval
	case fs.Always:
		// The server also flushes on this timer; keep its default while every write is synced.
		opts.SyncInterval = 2 * time.Minute
	default:
		opts.SyncInterval = fs.Interval
	}
	if c := cfg.Cluster; c != nil {
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: c.Host, Port: c.Port}
		if opts.Cluster.Host == "" {
			opts.Cluster.Host = "127.0.0.1"
		}
		for _, r := range c.Routes {
			u, err := url.Parse("nats://" + strings.TrimPrefix(r, "nats://"))
			if err != nil {
				return nil, fmt.Errorf("start node: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	if cfg.Logger != nil {
		srv.SetLoggerV2(serverLog{cfg.Logger.With("component", "nats")}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("start node: not ready for connections after 30s")
	}
	n := &Node{srv: srv, user: cfg.User, password: cfg.Password, dataDir: cfg.DataDir}
	if groupFsync {
		n.syncer = newSyncer(filepath.Join(cfg.DataDir, "jetstream", server.DEFAULT_GLOBAL_ACCOUNT, "streams"))
	}
	return n, nil
}

// groupFsyncServerInterval is how often the server flushes by itself when the node syncs its
// writes (NodeConfig.ServerFsync unset).
const groupFsyncServerInterval = 10 * time.Second

// WaitDurable returns when every write the node answered before the call is on disk. A writer
// that has to acknowledge a durable write calls it after the server's answer: on a single node
// with FsyncAlways (and not ServerFsync) the server writes without syncing and one fsync of the
// streams' files then serves every writer waiting. Where the server syncs by itself (an
// interval, a cluster, ServerFsync) it returns at once: the node's setting already says what an
// answer means.
func (n *Node) WaitDurable(ctx context.Context) error {
	if n.syncer == nil {
		return nil
	}
	return n.syncer.wait(ctx)
}

// Durable is WaitDurable where the node group commits by fsync, and nil where the server's
// answer already says all there is (an interval, a cluster, ServerFsync): writers skip the
// wait.
func (n *Node) Durable() func(context.Context) error {
	if n.syncer == nil {
		return nil
	}
	return n.syncer.wait
}

// AfterDurable is, where the node group commits by fsync, a function that calls fn once every
// write the node answered before the call is on disk (or with the fsync's error), without a
// goroutine waiting; nil where the server syncs by itself. See Config.AfterDurable.
func (n *Node) AfterDurable() func(fn func(error)) {
	if n.syncer == nil {
		return nil
	}
	return n.syncer.after
}

// FsyncStats is how group commit by fsync has gone since the node started.
type FsyncStats struct {
	Rounds int64 // fsync rounds run: for the node's writers, and one a second when none waits
	Waits  int64 // writers who waited for one
	// Failed is set after an fsync failed: from then on every durable write is refused until
	// the process restarts.
	Failed bool
}

// FsyncStats says how group commit by fsync has gone (all zero when the server syncs by itself).
func (n *Node) FsyncStats() FsyncStats {
	if n.syncer == nil {
		return FsyncStats{}
	}
	return FsyncStats{Rounds: n.syncer.rounds.Load(), Waits: n.syncer.waits.Load(), Failed: n.syncer.broken.Load()}
}

// users are the node's users: the service's own with every right (nil permissions), and the
// clients with theirs. The server keeps and compares bcrypt hashes, not the passwords.
func users(cfg NodeConfig) ([]*server.User, error) {
	if cfg.Password == "" {
		if len(cfg.Clients) > 0 {
			return nil, fmt.Errorf("client users need the service's user and password")
		}
		return nil, nil
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("a password needs a user")
	}
	hash := func(who, pw string) (string, error) {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			return "", fmt.Errorf("password of %s: %w", who, err)
		}
		return string(h), nil
	}
	h, err := hash(cfg.User, cfg.Password)
	if err != nil {
		return nil, err
	}
	us := []*server.User{{Username: cfg.User, Password: h}}
	seen := map[string]bool{cfg.User: true}
	prefixes := map[string]bool{}
	for _, c := range cfg.Clients {
		switch {
		case c.User == "" || c.Password == "":
			return nil, fmt.Errorf("client user %q: a user and a password are required", c.User)
		case seen[c.User]:
			return nil, fmt.Errorf("user %q is named twice", c.User)
		case c.InboxPrefix == "" || strings.ContainsAny(c.InboxPrefix, "*>. \t\r\n") || c.InboxPrefix == "_INBOX":
			// One token, so that no client's prefix.> holds another's.
			return nil, fmt.Errorf("client user %q: inbox prefix %q must be one subject token, without wildcards or dots, other than _INBOX", c.User, c.InboxPrefix)
		case prefixes[c.InboxPrefix]:
			return nil, fmt.Errorf("client user %q: inbox prefix %q is another client's", c.User, c.InboxPrefix)
		}
		seen[c.User], prefixes[c.InboxPrefix] = true, true
		h, err := hash(c.User, c.Password)
		if err != nil {
			return nil, err
		}
		us = append(us, &server.User{Username: c.User, Password: h, Permissions: c.Permissions()})
	}
	return us, nil
}

// ClientURL is the node's NATS address for clients, such as the standard nats tooling.
func (n *Node) ClientURL() string { return n.srv.ClientURL() }

// ClusterAddr is the node's cluster address, or "" when it is not clustered.
func (n *Node) ClusterAddr() string {
	if a := n.srv.ClusterAddr(); a != nil {
		return net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port))
	}
	return ""
}

// Name is the node's server name.
func (n *Node) Name() string { return n.srv.Name() }

// Connect opens an in-process client connection, the fastest path to an embedded node.
func (n *Node) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(n.srv), nats.Name("aabendialog"), n.credentials()}, opts...)
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded node: %w", err)
	}
	return nc, nil
}

// credentials are the node's user and password for its clients, if it has them.
func (n *Node) credentials() nats.Option {
	if n.password == "" {
		return func(*nats.Options) error { return nil }
	}
	return nats.UserInfo(n.user, n.password)
}

// ConnectTCP opens a client connection over the node's TCP port (with the node's credentials).
// It costs a round trip more than Connect for a request, but streams long reads with less CPU.
func (n *Node) ConnectTCP(opts ...nats.Option) (*nats.Conn, error) {
	// The node is on this machine: a connect that takes longer than nats.go's 2 s default is a
	// busy machine, not a lost peer.
	opts = append([]nats.Option{nats.Name("aabendialog reader"), n.credentials(), nats.Timeout(10 * time.Second)}, opts...)
	nc, err := nats.Connect(n.ClientURL(), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded node over TCP: %w", err)
	}
	return nc, nil
}

// WaitJetStream waits until the node's JetStream is current with its cluster's meta layer.
func (n *Node) WaitJetStream(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !n.srv.JetStreamIsCurrent() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for jetstream on %s: %w", n.Name(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Shutdown stops the node, flushing what it holds, and waits until it has stopped.
func (n *Node) Shutdown() {
	if n.syncer != nil {
		n.syncer.close()
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// serverLog carries the server's log lines into slog.
type serverLog struct{ l *slog.Logger }

// Noticef logs at debug: nats-server's notices are its start-up banner and routine events, and
// the service logs what an operator needs (where it listens, the log's state) itself.
func (s serverLog) Noticef(f string, v ...any) { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLog) Warnf(f string, v ...any)   { s.l.Warn(fmt.Sprintf(f, v...)) }
func (s serverLog) Fatalf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLog) Errorf(f string, v ...any)  { s.l.Error(fmt.Sprintf(f, v...)) }
func (s serverLog) Debugf(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
func (s serverLog) Tracef(f string, v ...any)  { s.l.Debug(fmt.Sprintf(f, v...)) }
