package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aabendialog/aabendialog/eventstore"
	"github.com/aabendialog/aabendialog/handlers/auth"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/internal/seed"
	"github.com/aabendialog/aabendialog/projections"
)

// queryVerb is a CLI verb that asks a read model.
type queryVerb struct {
	name, usage, summary string
	params               func(fs flagSet) func() url.Values
	print                func(w io.Writer, raw json.RawMessage) error
	// lists are the fields of the answer that page (with --limit, --cursor and --all); nil for
	// an answer that does not page.
	lists []string
}

type flagSet interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
	Uint64(name string, value uint64, usage string) *uint64
}

func queryVerbs() []queryVerb {
	return []queryVerb{
		{name: "history", usage: "history [--citizen ID] [--after SEQ]",
			summary: "a citizen's meetings in time order: status, time and place, agenda, who took part, follow-ups",
			params: func(fs flagSet) func() url.Values {
				c := fs.String("citizen", "", "the citizen (default: you, or the citizen you act for)")
				return func() url.Values { return nonEmpty(url.Values{"citizen": {*c}}) }
			}, print: printHistory, lists: []string{"items"}},
		{name: "services", usage: "services [--period 2026|2026-Q1|2026-03] [--service NAME] [--after SEQ]",
			summary: "which services took part and which meet the same citizens (groups of fewer than k citizens suppressed); a professional also sees the meetings they are part of",
			params: func(fs flagSet) func() url.Values {
				period := fs.String("period", "", "a year (2026), a quarter (2026-Q1) or a month (2026-03), by the day meetings were convened (default: all time)")
				svc := fs.String("service", "", "only this service")
				return func() url.Values { return nonEmpty(url.Values{"period": {*period}, "service": {*svc}}) }
			}, print: printServices, lists: []string{"per_meeting"}},
		{name: "directory", usage: "directory [--service NAME]",
			summary: "the staff directory: professionals who have signed in through the staff provider, with the id to invite them by",
			params: func(fs flagSet) func() url.Values {
				svc := fs.String("service", "", "only this service's professionals")
				return func() url.Values { return nonEmpty(url.Values{"service": {*svc}}) }
			}, print: printDirectory},
		{name: "inbox", usage: "inbox [--after SEQ]",
			summary: "your invitations to answer, coming meetings, and the follow-ups you own",
			params:  func(fs flagSet) func() url.Values { return func() url.Values { return url.Values{} } },
			print:   printInbox, lists: []string{"invitations", "coming", "follow_ups"}},
		{name: "follow-ups", usage: "follow-ups [--owner ID] [--service NAME] [--overdue] [--after SEQ]",
			summary: "follow-ups of the meetings you may see",
			params: func(fs flagSet) func() url.Values {
				owner := fs.String("owner", "", "only those this person is responsible for")
				svc := fs.String("service", "", "only those whose responsible comes from this service")
				overdue := fs.Bool("overdue", false, "only those past their due date and not done")
				return func() url.Values {
					v := nonEmpty(url.Values{"owner": {*owner}, "service": {*svc}})
					if *overdue {
						v.Set("overdue", "true")
					}
					return v
				}
			}, print: printFollowUps, lists: []string{"items"}},
		accessLogVerb,
	}
}

func nonEmpty(v url.Values) url.Values {
	for k, vs := range v {
		if len(vs) == 0 || vs[0] == "" {
			delete(v, k)
		}
	}
	return v
}

func (q queryVerb) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := q.usage + " [--json] [--server URL] [--token TOKEN]"
	if q.lists != nil {
		usage = q.usage + " [--limit N] [--cursor CURSOR | --all] [--json] [--server URL] [--token TOKEN]"
	}
	fs := newFlagSet(q.name, usage, stderr)
	cf := addClientFlags(fs)
	after := fs.Uint64("after", 0, "wait until the read model has reached this sequence (the one a command printed)")
	var limit *uint64
	var cursor *string
	var all *bool
	if q.lists != nil {
		limit = fs.Uint64("limit", 0, "the page size (default and largest: see docs/interfaces.md)")
		cursor = fs.String("cursor", "", "the page after the one that printed this cursor")
		all = fs.Bool("all", false, "fetch every page, with a progress bar on stderr")
	}
	build := q.params(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	params := build()
	if *after > 0 {
		params.Set("after", fmt.Sprint(*after))
	}
	if q.lists != nil {
		if *limit > 0 {
			params.Set("limit", fmt.Sprint(*limit))
		}
		if *cursor != "" {
			if *all {
				return usageError("--cursor and --all exclude each other: --all starts at the first page")
			}
			params.Set("cursor", *cursor)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	c, err := cf.client(tokenHint)
	if err != nil {
		return err
	}
	get := func(params url.Values) (json.RawMessage, error) {
		var raw json.RawMessage
		if err := c.Get(ctx, "/api/v1/"+q.name, params, &raw); err != nil {
			var ae *httpapi.APIError
			if errors.As(err, &ae) && ae.Field != "" {
				ae.Field = "--" + ae.Field
			}
			return nil, err
		}
		return raw, nil
	}
	raw, err := get(params)
	if err != nil {
		return err
	}
	if all != nil && *all {
		if raw, err = q.rest(raw, params, get, stderr); err != nil {
			return err
		}
	}
	if cf.json {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if err := q.print(stdout, raw); err != nil {
		return err
	}
	if q.lists != nil {
		var pg struct {
			Next string `json:"next_cursor"`
		}
		if json.Unmarshal(raw, &pg) == nil && pg.Next != "" {
			fmt.Fprintf(stderr, "More on the next page: %s %s --cursor %s (or --all for every page)\n", os.Args[0], q.name, pg.Next)
		}
	}
	return nil
}

// rest fetches the pages after first and joins their lists to it, as one answer without a
// next_cursor, counting the pages on stderr.
func (q queryVerb) rest(first json.RawMessage, params url.Values, get func(url.Values) (json.RawMessage, error), stderr io.Writer) (json.RawMessage, error) {
	var acc map[string]json.RawMessage
	if err := json.Unmarshal(first, &acc); err != nil {
		return nil, err
	}
	lists := map[string][]json.RawMessage{}
	add := func(page map[string]json.RawMessage) error {
		for _, k := range q.lists {
			var items []json.RawMessage
			if len(page[k]) > 0 {
				if err := json.Unmarshal(page[k], &items); err != nil && string(page[k]) != "null" {
					return fmt.Errorf("page field %s: %w", k, err)
				}
			}
			lists[k] = append(lists[k], items...)
		}
		return nil
	}
	if err := add(acc); err != nil {
		return nil, err
	}
	start, pages := time.Now(), 1
	for {
		var next string
		if n := acc["next_cursor"]; len(n) > 0 {
			_ = json.Unmarshal(n, &next)
		}
		if next == "" {
			break
		}
		// The total is not known before the last page, so progress is pages and items so far.
		n := 0
		for _, l := range lists {
			n += len(l)
		}
		fmt.Fprintf(stderr, "\r%s: page %d, %d items", q.name, pages, n)
		p := url.Values{}
		for k, v := range params {
			p[k] = v
		}
		p.Set("cursor", next)
		raw, err := get(p)
		if err != nil {
			return nil, err
		}
		acc = map[string]json.RawMessage{}
		if err := json.Unmarshal(raw, &acc); err != nil {
			return nil, err
		}
		if err := add(acc); err != nil {
			return nil, err
		}
		pages++
	}
	if pages > 1 {
		fmt.Fprintf(stderr, "\r%s: %d pages in %s.\n", q.name, pages, time.Since(start).Round(time.Millisecond))
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(first, &out); err != nil {
		return nil, err
	}
	delete(out, "next_cursor")
	for k, l := range lists {
		if l == nil {
			l = []json.RawMessage{}
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		out[k] = b
	}
	return json.Marshal(out)
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// pageItems reads the items of one page of a list.
func pageItems[T any](raw json.RawMessage) ([]T, error) {
	var pg projections.Paged[T]
	err := json.Unmarshal(raw, &pg)
	return pg.Items, err
}

func printHistory(w io.Writer, raw json.RawMessage) error {
	h, err := pageItems[projections.MeetingView](raw)
	if err != nil {
		return err
	}
	if len(h) == 0 {
		fmt.Fprintln(w, "No meetings.")
	}
	for _, m := range h {
		title := m.Title
		if title == "" {
			title = "(no title)"
		}
		fmt.Fprintf(w, "%s  %s  %s\n", m.ConvenedAt.Local().Format("2006-01-02"), m.Status, title)
		fmt.Fprintf(w, "  meeting %s\n", m.MeetingID)
		if m.ScheduledAt != nil {
			fmt.Fprintf(w, "  when: %s, where: %s %s\n", day(m.ScheduledAt), m.Place, m.Address)
		}
		if len(m.Agenda) > 0 {
			fmt.Fprintf(w, "  agenda: %s\n", strings.Join(m.Agenda, "; "))
		}
		for _, p := range m.Participants {
			from := p.Kind
			if p.Service != "" {
				from = p.Service
			}
			state := p.Answer
			if p.Withdrawn {
				state = "withdrawn"
			}
			if p.Present {
				state += ", present"
			}
			fmt.Fprintf(w, "  - %s (%s): %s\n", p.Name, from, state)
		}
		for _, f := range m.FollowUps {
			fmt.Fprintf(w, "  follow-up: %s; responsible %s; due %s; %s\n", f.What, f.Responsible, orDash(f.Due), f.State)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printDirectory(w io.Writer, raw json.RawMessage) error {
	var ps []httpapi.DirectoryEntry
	if err := json.Unmarshal(raw, &ps); err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(w, "No professionals in the directory yet: they appear when they first sign in.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tNAME\tPERSON ID")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Service, orDash(p.Name), p.PersonID)
	}
	return tw.Flush()
}

func printInbox(w io.Writer, raw json.RawMessage) error {
	var in projections.Inbox
	if err := json.Unmarshal(raw, &in); err != nil {
		return err
	}
	section := func(title string, ms []projections.InboxMeeting) {
		fmt.Fprintf(w, "%s (%d)\n", title, len(ms))
		for _, m := range ms {
			fmt.Fprintf(w, "  %s  %s  meeting %s  agenda: %s\n", day(m.ScheduledAt), m.Place, m.MeetingID, strings.Join(m.Agenda, "; "))
		}
	}
	section("Invitations to answer", in.Invitations)
	section("Coming meetings", in.Coming)
	fmt.Fprintf(w, "Your follow-ups (%d)\n", len(in.FollowUps))
	for _, f := range in.FollowUps {
		fmt.Fprintf(w, "  [%s] %s (due %s, meeting %s)\n", f.State, f.What, orDash(f.Due), f.MeetingID)
	}
	return nil
}

func printFollowUps(w io.Writer, raw json.RawMessage) error {
	fs, err := pageItems[projections.FollowUpView](raw)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tDUE\tWHAT\tRESPONSIBLE\tSERVICE\tMEETING")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.State, orDash(f.Due), f.What, f.Responsible, orDash(f.Service), f.MeetingID)
	}
	return tw.Flush()
}

func printServices(w io.Writer, raw json.RawMessage) error {
	var r projections.ServicesReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	hidden := fmt.Sprintf("(skjult: færre end %d borgere)", r.MinGroup)
	period := "all time"
	if r.Period != "" {
		period = fmt.Sprintf("%s (%s to %s)", r.Period, r.From, r.To)
	}
	fmt.Fprintf(w, "Services, %s. A group of fewer than %d citizens is not shown.\n\n", period, r.MinGroup)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tMEETINGS\tCITIZENS\tINVITED\tACCEPTED\tATTENDED")
	for _, s := range r.PerService {
		if s.Suppressed || s.Meetings == nil {
			fmt.Fprintf(tw, "%s\t%s\n", s.Service, hidden)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", s.Service, *s.Meetings, *s.Citizens, *s.Invited, *s.Accepted, *s.Attended)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICES MEETING THE SAME CITIZENS\t\tCITIZENS\tMEETINGS TOGETHER")
	for _, p := range r.Together {
		if p.Suppressed || p.SharedCitizens == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.A, p.B, hidden)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", p.A, p.B, *p.SharedCitizens, *p.MeetingsTogether)
	}
	tw.Flush()
	fmt.Fprintln(w, "(Pairs with a service that is not shown are not listed.)")
	if len(r.PerMeeting) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "YOUR MEETINGS\tCONVENED\tSTATUS\tSERVICE\tINVITED\tACCEPTED\tATTENDED")
	for _, m := range r.PerMeeting {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", m.MeetingID, m.ConvenedOn, m.Status, m.Service, m.Invited, m.Accepted, m.Attended)
	}
	return tw.Flush()
}

// runRebuild asks a running server to rebuild read models, showing progress.
func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rebuild", "rebuild [--projection NAME] [--server URL] [--token ADMIN-TOKEN] [--json]", stderr)
	cf := addClientFlags(fs)
	name := fs.String("projection", "", "the read model to rebuild: meetings or services (default: all)")
	// A rebuild of a large log takes minutes: wait an hour unless told otherwise.
	fs.Lookup("timeout").Value.Set("1h")
	fs.Lookup("timeout").DefValue = "1h"
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := cf.client("an administrator's token is needed (\"aabendialog token --role admin\")")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	var models []httpapi.ReadModelStatus
	if err := c.Get(ctx, "/api/v1/read-models", nil, &models); err != nil {
		return err
	}
	var names []string
	for _, m := range models {
		if *name == "" || m.Name == *name {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return usageError("--projection %q: the read models are meetings and services", *name)
	}
	results := map[string]any{}
	for _, n := range names {
		bar := newProgressBar(stderr, "rebuilding "+n)
		done := make(chan error, 1)
		var out map[string]any
		go func() { done <- c.Post(ctx, "/api/v1/read-models/"+n+"/rebuild", &out) }()
		tick := time.NewTicker(200 * time.Millisecond)
	wait:
		for {
			select {
			case err := <-done:
				tick.Stop()
				if err != nil {
					fmt.Fprintln(stderr)
					return fmt.Errorf("rebuild %s: %w", n, err)
				}
				break wait
			case <-tick.C:
				var st []httpapi.ReadModelStatus
				if c.Get(ctx, "/api/v1/read-models", nil, &st) == nil {
					for _, s := range st {
						if s.Name == n && s.Rebuild != nil {
							bar.Set(s.Rebuild.Done, s.Rebuild.Total)
						}
					}
				}
			}
		}
		bar.Done(fmt.Sprintf("%s is at sequence %v.", n, out["seq"]))
		results[n] = out
	}
	if cf.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

// runSeed writes synthetic histories into the log of a running server (or a cluster), through
// the command path: the domain's rules and the log's checks, with a simulated clock.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", "seed --citizens N [--nats URL] [--data DIR | --nats-password-file FILE] [--seed N] [--json]", stderr)
	citizens := fs.Int("citizens", 0, "how many citizens' histories to write (required)")
	natsURL := fs.String("nats", envOr("AABENDIALOG_NATS", "nats://127.0.0.1:4222"), "the log's NATS address: a running serve's --nats-listen, or the cluster, with user:password@ if it needs them (env AABENDIALOG_NATS)")
	data := fs.String("data", envOr("AABENDIALOG_DATA", "./data"), "the data directory of the serve at --nats, whose keys/nats.password is used when --nats names no user and --nats-password-file is not given (env AABENDIALOG_DATA)")
	pwFile := fs.String("nats-password-file", envOr("AABENDIALOG_NATS_PASSWORD_FILE", ""), "the password of the service's own NATS user ("+auth.NATSUser+"), used when --nats names no user; seed writes to the log, which a client user may not (default DATA/keys/nats.password) (env AABENDIALOG_NATS_PASSWORD_FILE)")
	seedN := fs.Uint64("seed", 1, "makes the history reproducible")
	workers := fs.Int("workers", 4, "citizens written at once")
	asJSON := fs.Bool("json", false, "print what was written as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *citizens < 1 {
		return usageError("--citizens: give how many citizens, at least 1")
	}
	opts := []nats.Option{nats.Name("aabendialog seed")}
	if u, err := url.Parse(*natsURL); err == nil && u.User == nil {
		file := *pwFile
		if file == "" {
			file = auth.NATSPasswordFile(*data)
		}
		pw, err := os.ReadFile(file)
		if err == nil {
			opts = append(opts, nats.UserInfo(auth.NATSUser, strings.TrimSpace(string(pw))))
		} else if *pwFile != "" {
			return fmt.Errorf("--nats-password-file: %w", err)
		}
	}
	nc, err := nats.Connect(*natsURL, opts...)
	if err != nil {
		return fmt.Errorf("connect to %s: %w (is serve running, and is --data its data directory?)", redactURL(*natsURL), err)
	}
	defer nc.Close()
	store, err := eventstore.Attach(ctx, nc)
	if err != nil {
		return err
	}
	// The support persons of the histories get their mandates, as serve requires.
	logStream, err := store.JetStream().Stream(ctx, eventstore.StreamName)
	if err != nil {
		return err
	}
	mandates, err := eventstore.OpenCitizens(ctx, nc, logStream.CachedInfo().Config.Replicas)
	if err != nil {
		return err
	}
	bar := newProgressBar(stderr, "seeding")
	st, err := seed.Write(ctx, store, seed.Config{Citizens: *citizens, Seed: *seedN, Workers: *workers, Mandates: mandates,
		Start: time.Now().AddDate(-1, 0, 0), Progress: func(done, total int) { bar.Set(uint64(done), uint64(total)) }})
	if err != nil {
		fmt.Fprintln(stderr)
		return err
	}
	bar.Done(fmt.Sprintf("%d citizens, %d meetings (%d held, %d cancelled), %d follow-ups, %d commands.",
		st.Citizens, st.Meetings, st.Held, st.Cancelled, st.FollowUps, st.Commands))
	if *asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	return nil
}

// redactURL is a NATS address (one URL or a comma-separated list) fit for a message: any
// password in it replaced by xxxxx.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
