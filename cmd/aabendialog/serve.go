package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/accesslog"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/handlers/metrics"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
	"github.com/aabendialog/aabendialog/handlers/notify"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/handlers/web"
	"github.com/aabendialog/aabendialog/internal/heapfloor"
	"github.com/aabendialog/aabendialog/projections"
)

// ServeConfig is everything "serve" can be told.
type ServeConfig struct {
	DataDir    string
	Fsync      eventstore.Fsync
	NATSListen string // host:port of the embedded node
	NATSURL    string // an existing cluster instead of the embedded node
	// NATSClients are the embedded node's client users, each with its password file under
	// DataDir/keys and its own inbox prefix: they send commands and queries, nothing else.
	NATSClients []string
	Replicas    int
	LogLevel    slog.Level
	LogFormat   string
	HTTPListen  string // host:port of the HTTP API
	// MetricsListen is host:port of /metrics, apart from the HTTP API (loopback by default).
	MetricsListen string
	// SkipUnreadable are log sequences of unreadable commits the read models pass over.
	SkipUnreadable []uint64
	// TokenPublicKey, when set, is the PEM public key of an identity provider whose tokens are
	// accepted; otherwise the embedded default's own key (under DataDir/keys) signs and verifies.
	TokenPublicKey string
	TokenIssuer    string
	TokenAudience  string
	// Contact is how citizens reach the municipality about the pages' accessibility.
	Contact string
	// ServiceCatalogue is a file listing the municipality's services, one per line; empty is
	// the embedded default (domain.DefaultServices).
	ServiceCatalogue string
	// MinGroup is k: the services report shows no aggregate of fewer than k citizens (0: 5).
	MinGroup int
	// PublicURL is the address people reach the service at (https://…); sign-in through an
	// identity provider returns there.
	PublicURL string
	// Notices is where notices and reminders are sent (notices.go).
	Notices NoticesConfig
	// CitizenOIDC and StaffOIDC are the OpenID Connect providers of citizens (MitID through a
	// broker) and of staff; an empty Issuer leaves that provider out.
	CitizenOIDC, StaffOIDC OIDCConfig
	// AccessLogRetention is how long the access log keeps an entry (0: 180 days).
	AccessLogRetention time.Duration
	// AccessLogNames shows readers' names to the citizen in the access log (the municipality's
	// choice); without it the citizen sees role and service.
	AccessLogNames bool
	// AccessLogWait is when a logged read may be answered: accesslog.WaitAck or WaitBuffered.
	AccessLogWait accesslog.Wait
}

// OIDCConfig is one OpenID Connect provider as serve's flags give it.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecretFile string
	RoleClaim, ServiceClaim            string // staff only
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
	// People is the directory of persons: who signed in through an identity provider, and the
	// addresses invitations and notices use.
	People *auth.People
	// Notices is the reaction that tells people by e-mail, or on their inbox page.
	Notices  *notify.Reactor
	mail     *notify.SMTP
	signer   *auth.Signer
	router   *natsrpc.CommandRouter
	routerWG sync.WaitGroup
	// ReadModels are the projectors; Queries answers from them.
	ReadModels []*projections.Projector
	Queries    *projections.Queries
	// Citizens holds the citizens' mandates; AccessLog who read whose data; Reads is the one
	// way into the read models (mandates checked, reads logged).
	Citizens     *eventstore.Citizens
	AccessLog    *accesslog.Log
	Reads        *query.Reads
	accessCancel context.CancelFunc
	bgCancel     context.CancelFunc
	bgWG         sync.WaitGroup
	http         *http.Server
	httpLn       net.Listener
	metricsSrv   *http.Server
	metricsLn    net.Listener
}

// Run starts the log (embedded node or cluster connection) and opens the stream.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	log := m.Logger
	services, err := loadCatalogue(cfg.ServiceCatalogue)
	if err != nil {
		return err
	}
	// The data directory holds the log, the read models and the keys: its owner's alone.
	for _, dir := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "keys")} {
		tightened, err := eventstore.SecureDir(dir)
		if err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		if tightened {
			log.Warn("the data directory could be read by others; now only its owner can", "dir", dir)
		}
	}
	if cfg.NATSURL == "" {
		host, port, err := splitHostPort(cfg.NATSListen)
		if err != nil {
			return fmt.Errorf("--nats-listen: %w", err)
		}
		// The node's port takes the service's own user, with every right, and client users
		// that may only send commands and queries and receive their replies; each password is
		// kept beside the other keys. The log holds what the domain's rules guard, and a NATS
		// client that could write or read it freely would go around them.
		password, err := auth.LoadOrCreatePassword(auth.NATSPasswordFile(cfg.DataDir))
		if err != nil {
			return fmt.Errorf("NATS password: %w", err)
		}
		var clients []eventstore.ClientUser
		for _, name := range cfg.NATSClients {
			pw, err := auth.LoadOrCreatePassword(auth.NATSClientPasswordFile(cfg.DataDir, name))
			if err != nil {
				return fmt.Errorf("NATS password of client user %s: %w", name, err)
			}
			clients = append(clients, eventstore.ClientUser{User: name, Password: pw,
				InboxPrefix: natsrpc.ClientInboxPrefix(name), Publish: natsrpc.ClientSubjects()})
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
			Clients:  clients,
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
		for _, c := range clients {
			log.Info("NATS client user: commands and queries only", "user", c.User, "inbox_prefix", c.InboxPrefix,
				"password_file", auth.NATSClientPasswordFile(cfg.DataDir, c.User))
		}
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
	m.Store, err = eventstore.Open(openCtx, m.nc, eventstore.Config{Replicas: cfg.Replicas, Reader: m.reader, Durable: m.durable(), AfterDurable: m.afterDurable(), Logger: m.Logger})
	if err != nil {
		return err
	}
	last, err := m.Store.LastSeq(ctx)
	if err != nil {
		return err
	}
	log.Info("log ready", "stream", eventstore.StreamName, "last_seq", last, "replicas", cfg.Replicas)
	if err := m.openRights(openCtx); err != nil {
		return err
	}

	if err := m.openVerifier(); err != nil {
		return err
	}
	bg, bgCancel := context.WithCancel(context.WithoutCancel(ctx))
	m.bgCancel = bgCancel
	providers, err := m.openProviders(bg, services)
	if err != nil {
		return err
	}
	// Signing out revokes the token in every serve process sharing the log.
	if m.Verifier.Revocations, err = auth.OpenRevocations(bg, m.Store.JetStream(), cfg.Replicas, time.Now, log); err != nil {
		return err
	}
	m.Verifier.Revocations.Durable = m.durable()
	dir := filepath.Join(cfg.DataDir, "readmodels")
	for _, proj := range []projections.Projection{projections.Meetings{}, projections.Services{}} {
		p, err := projections.OpenProjector(ctx, dir, proj, m.Store, log)
		if err != nil {
			return err
		}
		p.SkipUnreadable(cfg.SkipUnreadable...)
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
	m.Queries = &projections.Queries{MeetingsModel: m.ReadModels[0], ServicesModel: m.ReadModels[1], Now: time.Now, MinGroup: cfg.MinGroup, Catalogue: services}
	m.Reads.Queries = m.Queries
	qs := &query.Service{Reads: m.Reads}
	m.Metrics = metrics.New()
	m.Metrics.WatchReadModels(m.ReadModels, func() (uint64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return m.Store.LastSeq(ctx)
	})
	if m.durable() != nil {
		m.Metrics.WatchFsyncs(m.node.FsyncStats)
	}
	m.Service = command.New(m.Store, time.Now, m.Metrics)
	m.Service.Services = services
	m.Service.Citizens = m.Citizens
	m.Reads.Mandates = m.Service
	if m.People != nil && cfg.AccessLogNames {
		m.Reads.Names = func(id uuid.UUID) (string, bool) { p, ok := m.People.Profile(id); return p.Name, ok && p.Name != "" }
	}
	if m.People != nil {
		m.Service.Addresses = m.People
	}
	if err := m.openNotices(bg); err != nil {
		return err
	}
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
	replayer := &evaluation.Replayer{Store: m.Store, Pseudonyms: evaluation.NewPseudonyms(pkey), Citizens: evaluation.CitizensFromReadModel(m.ReadModels[0]), Services: services}
	csrfKey, err := auth.LoadOrCreateSecret(auth.CSRFKeyFile(cfg.DataDir))
	if err != nil {
		return fmt.Errorf("form key: %w", err)
	}
	pagesCfg := &web.Pages{Service: m.Service, Queries: m.Reads, Verifier: m.Verifier, Log: log,
		NewID: newCommandID, Now: time.Now, CSRFKey: csrfKey, Contact: cfg.Contact, Services: services,
		Providers: providers, PublicURL: cfg.PublicURL,
		Access: m.Reads, Mandates: m.Service, AccessLogDays: int(m.AccessLog.Retention() / (24 * time.Hour))}
	if len(providers) > 0 {
		pagesCfg.People, pagesCfg.Sessions = m.People, m.signer
	}
	pagesCfg.Notices, pagesCfg.NoticeSettings = m.Notices, m.People
	pages, err := pagesCfg.Handler()
	if err != nil {
		return err
	}
	readModels := make([]httpapi.ReadModel, len(m.ReadModels))
	for i, p := range m.ReadModels {
		readModels[i] = p
	}
	api := &httpapi.API{Service: m.Service, Verifier: m.Verifier, Metrics: m.Metrics, Log: log, NewID: newCommandID,
		Queries: qs, Evaluator: m.Queries, ReadModels: readModels, Replayer: replayer, Access: m.Reads,
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
	if m.People != nil {
		api.Directory = m.People
	}
	// The metrics (commands, read models, the process) are for the operator: on an address of
	// their own, loopback unless told otherwise, never beside the pages.
	m.metricsLn, err = net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("--metrics-listen %s: %w", cfg.MetricsListen, err)
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", m.Metrics.Handler())
	m.metricsSrv = &http.Server{Handler: metricsMux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	m.httpLn, err = net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("--http %s: %w", cfg.HTTPListen, err)
	}
	m.http = &http.Server{Handler: mount(api.Handler(), pages, m.Metrics), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	for _, s := range []struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}{{"metrics", m.metricsSrv, m.metricsLn}, {"HTTP", m.http, m.httpLn}} {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(s.name+" server stopped", "err", err)
			}
		}()
	}
	log.Info("HTTP API listening", "url", m.HTTPURL())
	log.Info("metrics listening", "url", m.MetricsURL())
	return nil
}

// mount serves the API and the web pages on one listener: the API under /api/ and its health
// and readiness, the pages at every other path. The metrics are not among them: they have a
// listener of their own (--metrics-listen).
func mount(api, pages http.Handler, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/readyz", api)
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
	m.signer = auth.NewSigner(key, time.Now)
	return nil
}

// afterDurable is durable without a goroutine waiting (eventstore.Node.AfterDurable), for the
// log's commits; nil where durable is.
func (m *Main) afterDurable() func(func(error)) {
	if m.node == nil {
		return nil
	}
	return m.node.AfterDurable()
}

// durable is what writers wait for before they acknowledge a write, where the embedded node
// group commits by fsync (eventstore.Node.Durable); nil elsewhere.
func (m *Main) durable() func(context.Context) error {
	if m.node == nil {
		return nil
	}
	return m.node.Durable()
}

// openProviders sets up sign-in through the configured OpenID Connect providers: the people
// log (identities linked to person ids), the pages' sign-in, and, for the staff provider, its
// access tokens on the API and NATS. Sessions are signed with the embedded key.
func (m *Main) openProviders(ctx context.Context, services *domain.Catalogue) (map[auth.ProviderKind]web.SignInProvider, error) {
	cfg := m.Config
	// The people log is opened always: invitations by e-mail address, and where notices go,
	// need it without a provider too.
	var err error
	if m.People, err = auth.OpenPeople(ctx, m.Store.JetStream(), cfg.Replicas, time.Now, m.Logger); err != nil {
		return nil, err
	}
	m.People.Durable = m.durable()
	if cfg.CitizenOIDC.Issuer == "" && cfg.StaffOIDC.Issuer == "" {
		return nil, nil
	}
	if m.signer == nil {
		return nil, usageError("--token-public-key cannot be combined with sign-in through an identity provider: the sessions after such a sign-in are signed with the embedded key; give staff API clients the staff provider's tokens instead")
	}
	out := map[auth.ProviderKind]web.SignInProvider{}
	for _, pc := range []struct {
		kind auth.ProviderKind
		flag string
		c    OIDCConfig
	}{{auth.CitizenProvider, "citizen", cfg.CitizenOIDC}, {auth.StaffProvider, "staff", cfg.StaffOIDC}} {
		if pc.c.Issuer == "" {
			continue
		}
		secret, err := os.ReadFile(pc.c.ClientSecretFile)
		if err != nil {
			return nil, usageError("--%s-oidc-client-secret-file: %v", pc.flag, err)
		}
		_, callback := web.ProviderPaths(pc.kind)
		prov := auth.NewProvider(auth.ProviderConfig{Kind: pc.kind, Issuer: pc.c.Issuer, ClientID: pc.c.ClientID,
			ClientSecret: strings.TrimSpace(string(secret)), RedirectURL: strings.TrimRight(cfg.PublicURL, "/") + callback,
			RoleClaim: pc.c.RoleClaim, ServiceClaim: pc.c.ServiceClaim, Services: services})
		out[pc.kind] = prov
		if pc.kind == auth.StaffProvider {
			m.Verifier.Staff, m.Verifier.People = prov, m.People
		}
		m.Logger.Info("sign-in through an identity provider", "provider", pc.kind, "issuer", pc.c.Issuer, "redirect", strings.TrimRight(cfg.PublicURL, "/")+callback)
		// Discovered now, in the background, so the pages' form-action names its endpoints
		// before the first sign-in; a provider that is down is discovered at the first sign-in.
		go func() {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := prov.Discover(dctx); err != nil {
				m.Logger.Warn("identity provider not reachable yet; sign-in will try again", "provider", pc.kind, "err", err)
			}
		}()
	}
	return out, nil
}

// HTTPURL is where the HTTP API answers.
func (m *Main) HTTPURL() string {
	if m.httpLn == nil {
		return ""
	}
	return "http://" + m.httpLn.Addr().String()
}

// MetricsURL is where the metrics answer: the /metrics URL on --metrics-listen.
func (m *Main) MetricsURL() string {
	if m.metricsLn == nil {
		return ""
	}
	return "http://" + m.metricsLn.Addr().String() + "/metrics"
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
	if m.metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		keep(m.metricsSrv.Shutdown(ctx))
		cancel()
	}
	if m.metricsLn != nil {
		_ = m.metricsLn.Close() // closed already, unless Run failed before serving on it
	}
	if m.router != nil {
		keep(m.router.Close())
		m.routerWG.Wait()
	}
	if m.accessCancel != nil {
		m.accessCancel()
	}
	if m.bgCancel != nil {
		m.bgCancel()
		m.bgWG.Wait()
	}
	keep(m.closeNotices())
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
	fs := newFlagSet("serve", "serve [--data DIR] [--http ADDR] [--metrics-listen ADDR] [--nats-listen ADDR [--nats-clients NAMES] | --nats URL] [--fsync always|DURATION]", stderr)
	cfg := ServeConfig{}
	fs.StringVar(&cfg.DataDir, "data", envOr("AABENDIALOG_DATA", "./data"), "directory for the embedded log and the read models (env AABENDIALOG_DATA)")
	fsync := fs.String("fsync", envOr("AABENDIALOG_FSYNC", "always"), "when the embedded node flushes to disk: \"always\" (an acknowledged command is on disk) or an interval such as 1s (faster; a power failure may lose what was acknowledged within it) (env AABENDIALOG_FSYNC)")
	fs.StringVar(&cfg.NATSListen, "nats-listen", envOr("AABENDIALOG_NATS_LISTEN", "127.0.0.1:4222"), "where the embedded node listens for NATS clients, such as the nats tool; port 0 picks a free one (env AABENDIALOG_NATS_LISTEN)")
	fs.StringVar(&cfg.NATSURL, "nats", envOr("AABENDIALOG_NATS", ""), "use an existing NATS JetStream cluster at these URLs (comma-separated) instead of the embedded node (env AABENDIALOG_NATS)")
	replicas := fs.Int("replicas", envInt("AABENDIALOG_REPLICAS", 0), "copies of the stream: default 1 on the embedded node, 3 on a cluster (env AABENDIALOG_REPLICAS)")
	level := fs.String("log-level", envOr("AABENDIALOG_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env AABENDIALOG_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", envOr("AABENDIALOG_LOG_FORMAT", "text"), "log format: text or json (env AABENDIALOG_LOG_FORMAT)")
	natsClients := fs.String("nats-clients", envOr("AABENDIALOG_NATS_CLIENTS", auth.NATSClientUser), "the embedded node's client users (comma-separated names), each with its password in DATA/keys/nats-NAME.password and its replies under _INBOX_NAME: they may send commands and queries and nothing else; give each client application its own (env AABENDIALOG_NATS_CLIENTS)")
	fs.StringVar(&cfg.HTTPListen, "http", envOr("AABENDIALOG_HTTP", "127.0.0.1:8080"), "where the HTTP API listens; port 0 picks a free one (env AABENDIALOG_HTTP)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", envOr("AABENDIALOG_METRICS_LISTEN", "127.0.0.1:9464"), "where /metrics (Prometheus) listens, apart from the HTTP API; port 0 picks a free one (env AABENDIALOG_METRICS_LISTEN)")
	skip := fs.String("skip-unreadable", envOr("AABENDIALOG_SKIP_UNREADABLE", ""), "log sequences (comma-separated) of commits the read models cannot read and are to pass over instead of stopping; a listed commit that can be read is applied (env AABENDIALOG_SKIP_UNREADABLE)")
	fs.StringVar(&cfg.TokenPublicKey, "token-public-key", envOr("AABENDIALOG_TOKEN_PUBLIC_KEY", ""), "PEM file with an identity provider's public key (Ed25519, ECDSA or RSA); default: the embedded key under DATA/keys (env AABENDIALOG_TOKEN_PUBLIC_KEY)")
	fs.StringVar(&cfg.TokenIssuer, "token-issuer", envOr("AABENDIALOG_TOKEN_ISSUER", auth.TokenIssuer), "the issuer (iss) tokens must name (env AABENDIALOG_TOKEN_ISSUER)")
	fs.StringVar(&cfg.ServiceCatalogue, "service-catalogue", envOr("AABENDIALOG_SERVICE_CATALOGUE", ""), "file listing the municipality's services (centres and the region), one per line, # for comments: invitations and suggestions choose from it, and evaluators see \"anden\" for any other; default: the embedded list of centres (env AABENDIALOG_SERVICE_CATALOGUE)")
	fs.StringVar(&cfg.Contact, "contact", envOr("AABENDIALOG_CONTACT", ""), "how people reach the municipality about the pages' accessibility, shown on /was, e.g. \"Skriv til digital@kommune.dk eller ring 12 34 56 78\" (env AABENDIALOG_CONTACT)")
	fs.StringVar(&cfg.TokenAudience, "token-audience", envOr("AABENDIALOG_TOKEN_AUDIENCE", auth.TokenAudience), "the audience (aud) tokens must name (env AABENDIALOG_TOKEN_AUDIENCE)")
	minGroup := fs.String("min-group", envOr("AABENDIALOG_MIN_GROUP", strconv.Itoa(projections.DefaultMinGroup)), "k: the services report shows a figure per service or pair of services only for a group of at least k citizens (env AABENDIALOG_MIN_GROUP)")
	retention := fs.String("access-log-retention", envOr("AABENDIALOG_ACCESS_LOG_RETENTION", "180d"), "how long the access log keeps who read a citizen's data, in days (180d) or as a duration (4320h); JetStream deletes older entries (env AABENDIALOG_ACCESS_LOG_RETENTION)")
	wait := fs.String("access-log-wait", envOr("AABENDIALOG_ACCESS_LOG_WAIT", string(accesslog.WaitBuffered)), "when a logged read is answered: \"buffered\" (once its entry is sent; a failed or overdue ack refuses every logged read until the log stores again: fast, and only entries of the last second can be lost if the process dies) or \"ack\" (once the entry is stored: nothing answered unlogged, but each read waits for the log's fsync) (env AABENDIALOG_ACCESS_LOG_WAIT)")
	fs.BoolVar(&cfg.AccessLogNames, "access-log-names", envOr("AABENDIALOG_ACCESS_LOG_NAMES", "") == "true", "show citizens the names of those who read their data (from the staff provider's sign-in); without it they see role and service only (env AABENDIALOG_ACCESS_LOG_NAMES=true)")
	fs.StringVar(&cfg.PublicURL, "public-url", envOr("AABENDIALOG_PUBLIC_URL", ""), "the address people reach the pages at, e.g. https://aabendialog.kommune.dk; identity providers send people back to it (env AABENDIALOG_PUBLIC_URL)")
	for _, o := range []struct {
		flag, env string
		c         *OIDCConfig
		whom      string
	}{{"citizen", "CITIZEN", &cfg.CitizenOIDC, "citizens (MitID through a broker)"}, {"staff", "STAFF", &cfg.StaffOIDC, "staff"}} {
		fs.StringVar(&o.c.Issuer, o.flag+"-oidc-issuer", envOr("AABENDIALOG_"+o.env+"_OIDC_ISSUER", ""), "issuer URL of the OpenID Connect provider "+o.whom+" sign in through; needs --public-url (env AABENDIALOG_"+o.env+"_OIDC_ISSUER)")
		fs.StringVar(&o.c.ClientID, o.flag+"-oidc-client-id", envOr("AABENDIALOG_"+o.env+"_OIDC_CLIENT_ID", ""), "this service's client id at that provider (env AABENDIALOG_"+o.env+"_OIDC_CLIENT_ID)")
		fs.StringVar(&o.c.ClientSecretFile, o.flag+"-oidc-client-secret-file", envOr("AABENDIALOG_"+o.env+"_OIDC_CLIENT_SECRET_FILE", ""), "file holding this service's client secret at that provider (env AABENDIALOG_"+o.env+"_OIDC_CLIENT_SECRET_FILE)")
	}
	fs.StringVar(&cfg.StaffOIDC.RoleClaim, "staff-role-claim", envOr("AABENDIALOG_STAFF_ROLE_CLAIM", "groups"), "the staff provider's claim that holds a person's role: professional, evaluator or admin (a string or a list) (env AABENDIALOG_STAFF_ROLE_CLAIM)")
	fs.StringVar(&cfg.StaffOIDC.ServiceClaim, "staff-service-claim", envOr("AABENDIALOG_STAFF_SERVICE_CLAIM", "department"), "the staff provider's claim that holds a professional's service, matched against the service catalogue (env AABENDIALOG_STAFF_SERVICE_CLAIM)")
	heapFloor := fs.String("heap-floor", envOr("AABENDIALOG_HEAP_FLOOR", strconv.Itoa(heapfloor.Default>>20)+"MiB"), "the Go heap the garbage collector lets grow before it collects, however little of it is live (it still collects at twice the live heap above that): fewer collections, so fewer slow commands, for up to this much memory; 0 for Go's default; GOGC=off turns it off, and a GOMEMLIMIT still caps it (env AABENDIALOG_HEAP_FLOOR)")
	noticeFlags := addNoticeFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noticeFlags(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if err := checkOIDCFlags(cfg); err != nil {
		return err
	}
	var err error
	if cfg.MinGroup, err = strconv.Atoi(strings.TrimSpace(*minGroup)); err != nil || cfg.MinGroup < 1 {
		return usageError("--min-group %q: give k, the fewest citizens a figure of the services report is shown for, as a whole number of 1 or more (default %d)", *minGroup, projections.DefaultMinGroup)
	}
	if cfg.AccessLogWait = accesslog.Wait(*wait); cfg.AccessLogWait != accesslog.WaitAck && cfg.AccessLogWait != accesslog.WaitBuffered {
		return usageError("--access-log-wait %q: use buffered or ack", *wait)
	}
	if cfg.AccessLogRetention, err = parseRetention(*retention); err != nil {
		return usageError("--access-log-retention %q: %v", *retention, err)
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
	if cfg.NATSClients, err = parseClientUsers(*natsClients); err != nil {
		return usageError("--nats-clients: %v", err)
	}
	if cfg.SkipUnreadable, err = parseSequences(*skip); err != nil {
		return usageError("--skip-unreadable: %v", err)
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
	floor, err := parseBytes(*heapFloor)
	if err != nil {
		return usageError("--heap-floor %q: %v", *heapFloor, err)
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if f := heapfloor.Start(floor); f != nil {
		defer f.Stop()
		log.Info("heap floor", "bytes", floor)
	}
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	fmt.Fprintf(stdout, "aabendialog serving; HTTP at %s, NATS at %s, metrics at %s. Stop with Ctrl-C.\n", m.HTTPURL(), m.NATSURL(), m.MetricsURL())
	<-ctx.Done()
	log.Info("shutting down")
	if err := m.Close(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// parseBytes reads a size: a whole number of bytes, or of KiB, MiB or GiB ("128MiB").
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	num, unit := s, uint64(1)
	for _, u := range []struct {
		suffix string
		bytes  uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = strings.TrimSpace(n), u.bytes
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n > (1<<62)/unit {
		return 0, errors.New("give a whole number of bytes, KiB, MiB or GiB, such as 128MiB")
	}
	return n * unit, nil
}

// parseClientUsers reads --nats-clients: names of one subject token each (they name the inbox
// prefix _INBOX_NAME too), none twice, none the service's own user; "none" or "-" for none.
func parseClientUsers(s string) ([]string, error) {
	if s = strings.TrimSpace(s); s == "none" || s == "-" {
		return nil, nil
	}
	var names []string
	for n := range strings.SplitSeq(s, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
			return nil, fmt.Errorf("an empty name in %q", s)
		case n == auth.NATSUser:
			return nil, fmt.Errorf("%q is the service's own user", n)
		case slices.Contains(names, n):
			return nil, fmt.Errorf("%q is named twice", n)
		case !validClientName(n):
			return nil, fmt.Errorf("%q: use lower-case letters, digits, - and _ (up to 32)", n)
		}
		names = append(names, n)
	}
	return names, nil
}

func validClientName(n string) bool {
	if len(n) > 32 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// parseSequences reads a comma-separated list of log sequences.
func parseSequences(s string) ([]uint64, error) {
	var seqs []uint64
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%q is not a log sequence (a number from 1)", strings.TrimSpace(f))
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
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

// loadCatalogue reads the service catalogue file, or returns the embedded default.
func loadCatalogue(path string) (*domain.Catalogue, error) {
	if path == "" {
		return domain.DefaultCatalogue(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--service-catalogue: %w", err)
	}
	c, err := domain.ParseCatalogue(string(b))
	if err != nil {
		return nil, fmt.Errorf("--service-catalogue %s: %w", path, err)
	}
	return c, nil
}

// checkOIDCFlags refuses a provider given by halves, and one without --public-url.
func checkOIDCFlags(cfg ServeConfig) error {
	for _, o := range []struct {
		flag string
		c    OIDCConfig
	}{{"citizen", cfg.CitizenOIDC}, {"staff", cfg.StaffOIDC}} {
		set := o.c.Issuer != "" || o.c.ClientID != "" || o.c.ClientSecretFile != ""
		if !set {
			continue
		}
		switch {
		case o.c.Issuer == "" || o.c.ClientID == "" || o.c.ClientSecretFile == "":
			return usageError("--%[1]s-oidc-issuer, --%[1]s-oidc-client-id and --%[1]s-oidc-client-secret-file go together: give all three", o.flag)
		case !strings.HasPrefix(o.c.Issuer, "https://") && !strings.HasPrefix(o.c.Issuer, "http://"):
			return usageError("--%s-oidc-issuer %q: give the provider's issuer URL", o.flag, o.c.Issuer)
		case cfg.PublicURL == "":
			return usageError("--%s-oidc-issuer needs --public-url: the provider sends people back to PUBLIC_URL/log-ind/…/retur", o.flag)
		}
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return usageError("--public-url %q: give the address of the service's pages, e.g. https://aabendialog.kommune.dk", cfg.PublicURL)
		}
	}
	return nil
}
