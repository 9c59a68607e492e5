package eventstore

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/domain"
)

// backend is one way of running the log; the conformance suite runs against each.
type backend struct {
	name     string
	replicas int
	start    func(t testing.TB) *cluster
}

// serverFsync has the server fsync every write itself (NodeConfig.ServerFsync).
func serverFsync(cfg *NodeConfig) { cfg.ServerFsync = true }

var backends = []backend{
	// As serve runs its embedded node: the server writes, the node group commits by fsync.
	{name: "single", replicas: 1, start: func(t testing.TB) *cluster { return startCluster(t, 1) }},
	// The engine as it comes: every write the server's own fsync.
	{name: "single-server-fsync", replicas: 1, start: func(t testing.TB) *cluster { return startCluster(t, 1, serverFsync) }},
	{name: "cluster3", replicas: 3, start: func(t testing.TB) *cluster { return startCluster(t, 3) }},
}

// cluster is n embedded nodes on 127.0.0.1; with n == 1 it is the single-node default.
type cluster struct {
	t       testing.TB
	nodes   []*Node
	configs []NodeConfig
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster starts n nodes, each configured by mods after the defaults.
func startCluster(t testing.TB, n int, mods ...func(*NodeConfig)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	clusterPorts := make([]int, n)
	for i := range clusterPorts {
		clusterPorts[i] = freePort(t)
	}
	for i := 0; i < n; i++ {
		cfg := NodeConfig{
			DataDir: t.TempDir(),
			Name:    fmt.Sprintf("n%d", i+1),
			Port:    freePort(t),
			Fsync:   FsyncAlways,
		}
		if n > 1 {
			cc := &ClusterConfig{Name: "aabendialog-test", Port: clusterPorts[i]}
			for j, p := range clusterPorts {
				if j != i {
					cc.Routes = append(cc.Routes, fmt.Sprintf("127.0.0.1:%d", p))
				}
			}
			cfg.Cluster = cc
		}
		for _, mod := range mods {
			mod(&cfg)
		}
		c.configs = append(c.configs, cfg)
	}
	c.nodes = make([]*Node, n)
	for i := range c.configs {
		c.startNode(i)
	}
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			if nd != nil {
				nd.Shutdown()
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, nd := range c.nodes {
		if err := nd.WaitJetStream(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *cluster) startNode(i int) {
	c.t.Helper()
	nd, err := StartNode(c.configs[i])
	if err != nil {
		c.t.Fatalf("start node %d: %v", i, err)
	}
	c.nodes[i] = nd
}

func (c *cluster) stopNode(i int) {
	c.nodes[i].Shutdown()
	c.nodes[i] = nil
}

func (c *cluster) urls() string {
	var u []string
	for _, cfg := range c.configs {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", cfg.Port))
	}
	return strings.Join(u, ",")
}

// connect opens a client over TCP to every node, so it fails over when one stops.
func (c *cluster) connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.urls(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (c *cluster) open(t testing.TB, replicas int) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, c.connect(t), Config{Replicas: replicas, AppendTimeout: 2 * time.Second, Durable: c.nodes[0].Durable(), AfterDurable: c.nodes[0].AfterDurable()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func citizenActor(citizen uuid.UUID) domain.Actor {
	return domain.Actor{ID: citizen, Role: domain.RoleCitizen}
}

func conveneCommit(citizen, meeting uuid.UUID) domain.Commit {
	return domain.Commit{
		CommandID: uuid.New(), Command: "convene-meeting", MeetingID: meeting, CitizenID: citizen,
		Actor: citizenActor(citizen), At: time.Now().UTC(),
		Events: []domain.Event{domain.NewEvent(domain.MeetingConvened{MeetingID: meeting, CitizenID: citizen, Title: "Mit møde"})},
	}
}

func agendaCommit(citizen, meeting uuid.UUID, items ...string) domain.Commit {
	return domain.Commit{
		CommandID: uuid.New(), Command: "citizen-sets-agenda", MeetingID: meeting, CitizenID: citizen,
		Actor: citizenActor(citizen), At: time.Now().UTC(),
		Events: []domain.Event{domain.NewEvent(domain.AgendaSet{Items: items})},
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
