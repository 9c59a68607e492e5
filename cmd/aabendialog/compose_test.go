package main

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/natsrpc"
)

// No Docker engine runs here, so this test reads docker-compose.yml and checks that it names
// what it must: three NATS nodes routed to each other with JetStream flushing every write, and
// two aabendialog nodes on that cluster with health checks, volumes and a shared signing key,
// using only flags and settings that serve knows.
func TestComposeFile(t *testing.T) {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	conf, err := os.ReadFile("../../deploy/nats/nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server_name: $NATS_NAME", "sync_interval: always", "listen: 0.0.0.0:6222",
		"user: aabendialog", "password: $NATS_PASSWORD",
		"nats-route://nats1:6222", "nats-route://nats2:6222", "nats-route://nats3:6222"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("nats.conf lacks %q", want)
		}
	}
	nodes := []string{"nats1", "nats2", "nats3"}
	for _, n := range nodes {
		s, ok := doc.Services[n]
		if !ok {
			t.Fatalf("no service %s", n)
		}
		m := regexp.MustCompile(`^nats:2\.(\d+)`).FindStringSubmatch(s.Image)
		if m == nil {
			t.Fatalf("%s: image %q is not nats:2.x", n, s.Image)
		}
		if minor, _ := strconv.Atoi(m[1]); minor < 12 {
			t.Errorf("%s: nats %s is older than 2.12, the oldest series the service is tested with", n, s.Image)
		}
		if s.Environment["NATS_NAME"] != n {
			t.Errorf("%s: NATS_NAME %q", n, s.Environment["NATS_NAME"])
		}
		for _, v := range []string{"NATS_PASSWORD", "NATS_CLIENT_PASSWORD"} {
			if !strings.HasPrefix(s.Environment[v], "${"+v+":?") {
				t.Errorf("%s: %s %q, want it required from the environment", n, v, s.Environment[v])
			}
		}
		if !slices.Contains(s.Volumes, n+"-data:/data") || !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, "nats.conf:/etc/nats/nats.conf:ro") }) {
			t.Errorf("%s: volumes %v", n, s.Volumes)
		}
		if !strings.Contains(strings.Join(s.Healthcheck.Test, " "), "/healthz") {
			t.Errorf("%s: health check %v", n, s.Healthcheck.Test)
		}
		if _, ok := doc.Volumes[n+"-data"]; !ok {
			t.Errorf("volume %s-data not declared", n)
		}
	}
	help := serveHelp(t)
	hostPorts := map[string]bool{}
	for _, n := range []string{"aabendialog1", "aabendialog2"} {
		s, ok := doc.Services[n]
		if !ok {
			t.Fatalf("no service %s", n)
		}
		if _, err := os.Stat("../../" + s.Build.Dockerfile); err != nil || s.Build.Context != "." {
			t.Errorf("%s: build %+v: %v", n, s.Build, err)
		}
		urls := strings.Split(s.Environment["AABENDIALOG_NATS"], ",")
		for _, node := range nodes {
			if !slices.ContainsFunc(urls, func(u string) bool {
				return strings.HasPrefix(u, "nats://aabendialog:${NATS_PASSWORD") && strings.HasSuffix(u, "}@"+node+":4222")
			}) {
				t.Errorf("%s: AABENDIALOG_NATS %v does not name %s", n, urls, node)
			}
			if s.DependsOn[node].Condition != "service_healthy" {
				t.Errorf("%s: does not wait for %s to be healthy", n, node)
			}
		}
		if s.Command[0] != "serve" {
			t.Errorf("%s: command %v", n, s.Command)
		}
		for _, a := range s.Command[1:] {
			if strings.HasPrefix(a, "--") && !strings.Contains(help, "  -"+strings.TrimPrefix(a, "--")+" ") {
				t.Errorf("%s: serve has no flag %s", n, a)
			}
		}
		for k := range s.Environment {
			if !strings.Contains(help, "env "+k) {
				t.Errorf("%s: serve reads no %s", n, k)
			}
		}
		if !slices.Equal(s.Healthcheck.Test, []string{"CMD", "/aabendialog", "health", "--server", "http://127.0.0.1:8080"}) {
			t.Errorf("%s: health check %v", n, s.Healthcheck.Test)
		}
		if !slices.Contains(s.Volumes, "aabendialog-keys:/data/keys") || !slices.Contains(s.Volumes, n+"-data:/data") {
			t.Errorf("%s: volumes %v (the nodes must share the signing key)", n, s.Volumes)
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s: port %s is not bound to 127.0.0.1", n, p)
			}
			host := strings.Split(p, ":")[1]
			if hostPorts[host] {
				t.Errorf("%s: host port %s used twice", n, host)
			}
			hostPorts[host] = true
		}
	}
}

// TestComposeNATSUsers: the cluster's configuration, read by nats-server itself, has serve's two
// users: the service's own with every right, and a client user with exactly the rights of the
// embedded node's client users (commands and queries out, its own inbox prefix in).
func TestComposeNATSUsers(t *testing.T) {
	t.Setenv("NATS_NAME", "nats1")
	t.Setenv("NATS_PASSWORD", "service-password")
	t.Setenv("NATS_CLIENT_PASSWORD", "client-password")
	opts, err := natsserver.ProcessConfigFile("../../deploy/nats/nats.conf")
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	users := map[string]*natsserver.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
	}
	if len(users) != 2 || users[auth.NATSUser] == nil || users[auth.NATSClientUser] == nil {
		t.Fatalf("users %v, want %s and %s", slices.Collect(maps.Keys(users)), auth.NATSUser, auth.NATSClientUser)
	}
	if u := users[auth.NATSUser]; u.Password != "service-password" || u.Permissions != nil {
		t.Errorf("%s: password %q, permissions %+v; want NATS_PASSWORD and every right", u.Username, u.Password, u.Permissions)
	}
	c := users[auth.NATSClientUser]
	want := eventstore.ClientUser{User: auth.NATSClientUser, InboxPrefix: natsrpc.ClientInboxPrefix(auth.NATSClientUser), Publish: natsrpc.ClientSubjects()}.Permissions()
	if c.Password != "client-password" || c.Permissions == nil || !reflect.DeepEqual(c.Permissions.Publish, want.Publish) ||
		!reflect.DeepEqual(c.Permissions.Subscribe, want.Subscribe) || c.Permissions.Response != nil {
		t.Errorf("%s: password %q, permissions %+v %+v; want NATS_CLIENT_PASSWORD and %+v %+v", c.Username, c.Password,
			c.Permissions.Publish, c.Permissions.Subscribe, want.Publish, want.Subscribe)
	}
}

// serveHelp is what "aabendialog serve -h" prints: every flag and the variable it reads.
func serveHelp(t *testing.T) string {
	t.Helper()
	var out strings.Builder
	err := run(t.Context(), []string{"serve", "-h"}, &out, &out)
	if err == nil {
		t.Fatal("serve -h did not stop")
	}
	return out.String()
}
