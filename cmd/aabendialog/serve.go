package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/handlers/web"
	"github.com/aabendialog/aabendialog/projections"
)

// ServeConfig is everything "serve" can be told.
type ServeConfig struct {
	DataDir    string
	Fsync      eventstore.Fsync
	NATSListen string // host:port of the embedded node
	NATSURL    string // an existing cluster instead of the embedded node
	Replicas   int
	LogLevel   slog.Level
	LogFormat  string
	HTTPListen string // host:port of the HTTP API
	// TokenPublicKey, when set, is the PEM public key of an identity provider whose tokens are
	// accepted; otherwise the embedded default's own key (under DataDir/keys) signs and verifies.
	TokenPublicKey string
	TokenIssuer    string
	TokenAudience  string
	// Contact is how citizens reach the municipality about the pages' accessibility.
	Contact string
	// MinGroup is k: the services report shows no aggregate of fewer than k citizens (0: 5).
	MinGroup int
}

// Main is the running service. Tests start it in-process the same way main does.
type Main struct {
	Config ServeConfig
	Logger *slog.Logger

	node     *eventstore.Node
	nc       *nats.Conn
	reader   *nats.Conn // the embedded node's TCP connection for long reads; nil on a cluster
	Store    *eventstore.Store
	Service  *command.Service
	Metrics  *metrics.Metrics
	Verifier *auth.Verifier
	router   *natsrpc.CommandRouter
	routerWG sync.WaitGroup
	// ReadModels are the projectors; Queries answers from them.
	ReadModels []*projections.Projector
	Queries    *projections.Queries
	bgCancel   context.CancelFunc
	bgWG       sync.WaitGroup
	http       *http.Server
	httpLn     net.Listener
}

// Run starts the log (embedded node or cluster connection) and opens the stream.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	log := m.Logger
	if cfg.NATSURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		host, port, err := splitHostPort(cfg.NATSListen)
		if err != nil {
			return fmt.Errorf("--nats-listen: %w", err)
		}
		// The node's port takes one user, with a password kept beside the other keys: the log
		// holds what the domain's rules guard, and a NATS client that could write or read it
		// freely would go around them.
		password, err := auth.LoadOrCreatePassword(auth.NATSPasswordFile(cfg.DataDir))
		if err != nil {
			return fmt.Errorf("NATS password: %w", err)
		}
		m.node, err = eventstore.StartNode(eventstore.NodeConfig{
			DataDir:  filepath.Join(cfg.DataDir, "jetstream"),
			Name:     "aabendialog",
			Host:     host,
			Port:     port,
			Fsync:    cfg.Fsync,
			Logger:   log,
			User:     auth.NATSUser,
			Password: password,
		})
		if err != nil {
			return err
		}
		if m.nc, err = m.node.Connect(); err != nil {
			return err
		}
		// Long reads of the log (catch-up, rebuild, replay) stream over TCP: less CPU than the
		// in-process pipe (see eventstore.Config.Reader).
		if m.reader, err = m.node.ConnectTCP(); err != nil {
			return err
		}
		log.Info("embedded NATS JetStream node started", "nats", m.node.ClientURL(), "user", auth.NATSUser,
			"password_file", auth.NATSPasswordFile(cfg.DataDir), "fsync", cfg.Fsync.String(), "data", cfg.DataDir)
	} else {
		var err error
		m.nc, err = nats.Connect(cfg.NATSURL, nats.Name("aabendialog"), nats.MaxReconnects(-1),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "err", err) }),
			nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) }))
		if err != nil {
			return fmt.Errorf("connect to %s: %w", redactURL(cfg.NATSURL), err)
		}
		log.Info("connected to NATS", "url", m.nc.ConnectedUrlRedacted())
	}
	openCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var err error
	m.Store, err = eventstore.Open(openCtx, m.nc, eventstore.Config{Replicas: cfg.Replicas, Reader: m.reader})
	if err != nil {
		return err
	}
	last, err := m.Store.LastSeq(ctx)
	if err != nil {
		return err
	}
	log.Info("log ready", "stream", eventstore.StreamName, "last_seq", last, "replicas", cfg.Replicas)

	if err := m.openVerifier(); err != nil {
		return err
	}
	bg, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	m.bgCancel = bgCancel
	// Signing out revokes the token in every serve process sharing the log.
	if m.Verifier.Revocations, err = auth.OpenRevocations(bg, m.Store.JetStream(), cfg.Replicas, time.Now, log); err != nil {
		return err
	}
	dir := filepath.Join(cfg.DataDir, "readmodels")
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, dir, proj, m.Store, log)
		if err != nil {
			return err
		}
		m.ReadModels = append(m.ReadModels, p)
	}
	// Empty read models over a long log are loaded in bulk (one shared read of the log), then
	// every projector follows the log commit by commit.
	m.bgWG.Add(1)
	go func() {
		defer m.bgWG.Done()
		if err := projections.LoadEmpty(bg, m.ReadModels); err != nil && bg.Err() == nil {
			log.Warn("bulk load of empty read models failed; they follow the log commit by commit", "err", err)
		}
		for _, p := range m.ReadModels {
			m.bgWG.Add(1)
			go func() { defer m.bgWG.Done(); _ = p.Run(bg) }()
		}
	}()
	m.Queries = &projections.Queries{MeetingsModel: m.ReadModels[0], ServicesModel: m.ReadModels[1], Now: time.Now, MinGroup: cfg.MinGroup}
	qs := &query.Service{Queries: m.Queries}
	m.Metrics = metrics.New()
	m.Metrics.WatchReadModels(m.ReadModels, func() (uint64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return m.Store.LastSeq(ctx)
	})
	m.Service = command.New(m.Store, time.Now, m.Metrics)
	m.router, err = natsrpc.NewCommandRouter(m.nc, m.Service, m.Verifier, newCommandID, log, natsrpc.RouterConfig{})
	if err != nil {
		return err
	}
	m.routerWG.Add(1)
	go func() {
		defer m.routerWG.Done()
		if err := m.router.Run(context.WithoutCancel(ctx)); err != nil {
			log.Error("command router stopped", "err", err)
		}
	}()
	select {
	case <-m.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	log.Info("taking commands and queries over NATS", "commands", natsrpc.CommandSubjectPrefix+"*", "queries", natsrpc.QuerySubjectPrefix+"*")

	m.bgWG.Add(1)
	go func() {
		defer m.bgWG.Done()
		if err := natsrpc.ServeQueries(bg, m.nc, qs, m.Verifier, log); err != nil {
			log.Error("NATS queries stopped", "err", err)
		}
	}()
	// Ready once the log answers and every read model has caught up with what the log held at
	// start, and none has stopped.
	startSeq := last
	pkey, err := auth.LoadOrCreateSecret(auth.PseudonymKeyFile(cfg.DataDir))
	if err != nil {
		return fmt.Errorf("pseudonym key: %w", err)
	}
	replayer := &evaluation.Replayer{Store: m.Store, Pseudonyms: evaluation.NewPseudonyms(pkey), Citizens: evaluation.CitizensFromReadModel(m.ReadModels[0])}
	csrfKey, err := auth.LoadOrCreateSecret(auth.CSRFKeyFile(cfg.DataDir))
	if err != nil {
		return fmt.Errorf("form key: %w", err)
	}
	pages, err := (&web.Pages{Service: m.Service, Queries: m.Queries, Verifier: m.Verifier, Log: log,
		NewID: newCommandID, Now: time.Now, CSRFKey: csrfKey, Contact: cfg.Contact}).Handler()
	if err != nil {
		return err
	}
	readModels := make([]httpapi.ReadModel, len(m.ReadModels))
	for i, p := range m.ReadModels {
		readModels[i] = p
	}
	api := &httpapi.API{Service: m.Service, Verifier: m.Verifier, Metrics: m.Metrics, Log: log, NewID: newCommandID,
		Queries: qs, Evaluator: m.Queries, ReadModels: readModels, Replayer: replayer,
		Ready: func(ctx context.Context) error {
			if _, err := m.Store.LastSeq(ctx); err != nil {
				return err
			}
			for _, p := range m.ReadModels {
				st := p.Status()
				if st.Error != "" {
					return fmt.Errorf("read model %s stopped: %s", st.Name, st.Error)
				}
				if st.Seq < startSeq {
					return fmt.Errorf("read model %s is catching up: at %d of %d", st.Name, st.Seq, startSeq)
				}
			}
			return nil
		}}
	m.httpLn, err = net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("--http %s: %w", cfg.HTTPListen, err)
	}
	m.http = &http.Server{Handler: mount(api.Handler(), pages, m.Metrics), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := m.http.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	log.Info("HTTP API listening", "url", m.HTTPURL())
	return nil
}

// mount serves the API, the web pages and the metrics on one listener: the API under /api/ and
// its health and readiness, the metrics at /metrics, the pages at every other path.
func mount(api, pages http.Handler, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/readyz", api)
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", m.Counted("pages", pages))
	return mux
}

// openVerifier sets up token checking: an identity provider's public key when one is given,
// else the embedded default's own signing key, created on first start.
func (m *Main) openVerifier() error {
	cfg := m.Config
	if cfg.TokenPublicKey != "" {
		pub, err := auth.LoadPublicKey(cfg.TokenPublicKey)
		if err != nil {
			return err
		}
		m.Verifier = auth.NewVerifier(pub, cfg.TokenIssuer, cfg.TokenAudience, time.Now)
		return nil
	}
	key, err := auth.LoadOrCreateKey(auth.KeyFile(cfg.DataDir))
	if err != nil {
		return err
	}
	m.Verifier = auth.NewVerifier(key.Public(), cfg.TokenIssuer, cfg.TokenAudience, time.Now)
	return nil
}

// HTTPURL is where the HTTP API answers.
func (m *Main) HTTPURL() string {
	if m.httpLn == nil {
		return ""
	}
	return "http://" + m.httpLn.Addr().String()
}

// newCommandID makes a command id: a UUIDv7, so ids sort by time in logs.
func newCommandID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// NATSURL is where NATS clients reach the log.
func (m *Main) NATSURL() string {
	if m.node != nil {
		return m.node.ClientURL()
	}
	return m.Config.NATSURL
}

// Close stops everything Run started and returns the first error.
func (m *Main) Close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		keep(m.http.Shutdown(ctx))
		cancel()
	}
	if m.router != nil {
		keep(m.router.Close())
		m.routerWG.Wait()
	}
	if m.bgCancel != nil {
		m.bgCancel()
		m.bgWG.Wait()
	}
	for _, p := range m.ReadModels {
		keep(p.Close())
	}
	for _, nc := range []*nats.Conn{m.reader, m.nc} {
		if nc == nil {
			continue
		}
		if err := nc.Drain(); err != nil && first == nil && !errors.Is(err, nats.ErrConnectionClosed) {
			first = err
		}
	}
	if m.node != nil {
		m.node.Shutdown()
	}
	return first
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return host, port, nil
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [--data DIR] [--http ADDR] [--nats-listen ADDR | --nats URL] [--fsync always|DURATION]", stderr)
	cfg := ServeConfig{}
	fs.StringVar(&cfg.DataDir, "data", envOr("AABENDIALOG_DATA", "./data"), "directory for the embedded log and the read models (env AABENDIALOG_DATA)")
	fsync := fs.String("fsync", envOr("AABENDIALOG_FSYNC", "always"), "when the embedded node flushes to disk: \"always\" (an acknowledged command is on disk) or an interval such as 1s (faster; a power failure may lose what was acknowledged within it) (env AABENDIALOG_FSYNC)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", envOr("AABENDIALOG_NATS_LISTEN", "127.0.0.1:4222"), "where the embedded node listens for NATS clients, such as the nats tool; port 0 picks a free one (env AABENDIALOG_NATS_LISTEN)")
	fs.StringVar(&cfg.NATSURL, "nats", envOr("AABENDIALOG_NATS", ""), "use an existing NATS JetStream cluster at these URLs (comma-separated) instead of the embedded node (env AABENDIALOG_NATS)")
	replicas := fs.Int("replicas", envInt("AABENDIALOG_REPLICAS", 0), "copies of the stream: default 1 on the embedded node, 3 on a cluster (env AABENDIALOG_REPLICAS)")
	level := fs.String("log-level", envOr("AABENDIALOG_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env AABENDIALOG_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", envOr("AABENDIALOG_LOG_FORMAT", "text"), "log format: text or json (env AABENDIALOG_LOG_FORMAT)")
	fs.StringVar(&cfg.HTTPListen, "http", envOr("AABENDIALOG_HTTP", "127.0.0.1:8080"), "where the HTTP API listens; port 0 picks a free one (env AABENDIALOG_HTTP)")
	fs.StringVar(&cfg.TokenPublicKey, "token-public-key", envOr("AABENDIALOG_TOKEN_PUBLIC_KEY", ""), "PEM file with an identity provider's public key (Ed25519, ECDSA or RSA); default: the embedded key under DATA/keys (env AABENDIALOG_TOKEN_PUBLIC_KEY)")
	fs.StringVar(&cfg.TokenIssuer, "token-issuer", envOr("AABENDIALOG_TOKEN_ISSUER", auth.TokenIssuer), "the issuer (iss) tokens must name (env AABENDIALOG_TOKEN_ISSUER)")
	fs.StringVar(&cfg.Contact, "contact", envOr("AABENDIALOG_CONTACT", ""), "how people reach the municipality about the pages' accessibility, shown on /was, e.g. \"Skriv til digital@kommune.dk eller ring 12 34 56 78\" (env AABENDIALOG_CONTACT)")
	fs.StringVar(&cfg.TokenAudience, "token-audience", envOr("AABENDIALOG_TOKEN_AUDIENCE", auth.TokenAudience), "the audience (aud) tokens must name (env AABENDIALOG_TOKEN_AUDIENCE)")
	minGroup := fs.String("min-group", envOr("AABENDIALOG_MIN_GROUP", strconv.Itoa(projections.DefaultMinGroup)), "k: the services report shows a figure per service or pair of services only for a group of at least k citizens (env AABENDIALOG_MIN_GROUP)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.MinGroup, err = strconv.Atoi(strings.TrimSpace(*minGroup)); err != nil || cfg.MinGroup < 1 {
		return usageError("--min-group %q: give k, the fewest citizens a figure of the services report is shown for, as a whole number of 1 or more (default %d)", *minGroup, projections.DefaultMinGroup)
	}
	if cfg.Fsync, err = eventstore.ParseFsync(*fsync); err != nil {
		return usageError("--%v", err)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return usageError("--log-level %q: use debug, info, warn or error", *level)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return usageError("--log-format %q: use text or json", cfg.LogFormat)
	}
	cfg.Replicas = *replicas
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
		if cfg.NATSURL != "" {
			cfg.Replicas = 3
		}
	}
	if cfg.Replicas < 1 || cfg.Replicas > 5 {
		return usageError("--replicas %d: use 1 to 5", cfg.Replicas)
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	fmt.Fprintf(stdout, "aabendialog serving; HTTP at %s, NATS at %s. Stop with Ctrl-C.\n", m.HTTPURL(), m.NATSURL())
	<-ctx.Done()
	log.Info("shutting down")
	if err := m.Close(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && strings.TrimSpace(v) != "" {
		return v
	}
	return def
}

// envInt reads an integer setting from the environment; a value that is not a number is left to
// the flag's own check by returning -1.
func envInt(key string, def int) int {
	v := envOr(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
