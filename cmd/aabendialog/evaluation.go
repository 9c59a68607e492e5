package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/httpapi"
	"github.com/aabendialog/aabendialog/projections"
)

// runReplay prints a citizen's or a meeting's history event by event and the meetings as they
// stood at the end.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", "replay (--citizen ID | --meeting ID) [--as-of TIME | --at-seq N] [--limit N] [--cursor CURSOR | --all] [--json] [--server URL] [--token TOKEN]", stderr)
	cf := addClientFlags(fs)
	citizen := fs.String("citizen", "", "the citizen's id (evaluators: the citizen's pseudonym)")
	meeting := fs.String("meeting", "", "a meeting's id")
	asOf := fs.String("as-of", "", "replay up to this time, RFC 3339 (2026-12-01T10:00:00+01:00)")
	atSeq := fs.Uint64("at-seq", 0, "replay up to this sequence")
	limit := fs.Uint64("limit", 0, fmt.Sprintf("entries per page (default %d, at most %d)", evaluation.ReplayLimits.Default, evaluation.ReplayLimits.Max))
	cursor := fs.String("cursor", "", "the page after the one that printed this cursor")
	all := fs.Bool("all", false, "fetch every page, with progress on stderr; the meetings as they stood at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *all && *cursor != "" {
		return usageError("--cursor and --all exclude each other: --all starts at the first page")
	}
	if (*citizen == "") == (*meeting == "") {
		return usageError("give one of --citizen and --meeting")
	}
	if *asOf != "" && *atSeq != 0 {
		return usageError("give at most one of --as-of and --at-seq")
	}
	v := nonEmpty(url.Values{"citizen": {*citizen}, "meeting": {*meeting}, "as_of": {*asOf}, "cursor": {*cursor}})
	if *atSeq > 0 {
		v.Set("at_seq", fmt.Sprint(*atSeq))
	}
	if *limit > 0 {
		v.Set("limit", fmt.Sprint(*limit))
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	c, err := cf.client(tokenHint)
	if err != nil {
		return err
	}
	var r evaluation.Replay
	if err := c.Get(ctx, "/api/v1/replay", v, &r); err != nil {
		return flagNamed(err)
	}
	for pages := 1; *all && r.NextCursor != ""; pages++ {
		fmt.Fprintf(stderr, "\rreplay: page %d, %d entries", pages, len(r.Entries))
		v.Set("cursor", r.NextCursor)
		var next evaluation.Replay
		if err := c.Get(ctx, "/api/v1/replay", v, &next); err != nil {
			return flagNamed(err)
		}
		next.Entries = append(r.Entries, next.Entries...)
		if r = next; r.NextCursor == "" {
			fmt.Fprintf(stderr, "\rreplay: %d pages, %d entries.\n", pages+1, len(r.Entries))
		}
	}
	if cf.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	for _, e := range r.Entries {
		who := e.Actor + " (" + string(e.Role)
		if e.Service != "" {
			who += ", " + e.Service
		}
		if e.OnBehalfOf != "" {
			who += ", on behalf of " + e.OnBehalfOf
		}
		who += ")"
		var types []string
		for _, ev := range e.Events {
			types = append(types, fmt.Sprint(ev["type"]))
		}
		fmt.Fprintf(stdout, "%s  seq %-7d %-22s %s: %s\n", e.At.Local().Format("2006-01-02 15:04"), e.Seq, e.Command, who, strings.Join(types, ", "))
	}
	fmt.Fprintln(stdout)
	for _, m := range r.Meetings {
		fmt.Fprintf(stdout, "Meeting %s of %s: %s", m.MeetingID, m.Citizen, m.Status)
		if m.At != nil {
			fmt.Fprintf(stdout, ", %s at %s", m.At.Local().Format("2006-01-02 15:04"), m.Place)
		}
		fmt.Fprintln(stdout)
		if len(m.Agenda) > 0 {
			fmt.Fprintf(stdout, "  agenda: %s\n", strings.Join(m.Agenda, "; "))
		} else {
			fmt.Fprintf(stdout, "  agenda: %d items\n", m.AgendaItems)
		}
		for _, p := range m.Participants {
			name := p.Name
			if name == "" {
				name = p.ID
			}
			fmt.Fprintf(stdout, "  - %s (%s %s): %s, present %v, withdrawn %v\n", name, p.Kind, p.Service, p.Answer, p.Present, p.Withdrawn)
		}
		for _, f := range m.FollowUps {
			fmt.Fprintf(stdout, "  follow-up %s: responsible %s, due %s, done %v %s\n", f.ID, f.Responsible, orDash(f.Due), f.Completed, f.What)
		}
	}
	if r.NextCursor != "" {
		fmt.Fprintf(stderr, "The meetings as they stood at seq %d. More on the next page: %s replay ... --cursor %s (or --all)\n",
			r.Entries[len(r.Entries)-1].Seq, os.Args[0], r.NextCursor)
	}
	return nil
}

func flagNamed(err error) error {
	if ae, ok := err.(*httpapi.APIError); ok && ae.Field != "" {
		ae.Field = "--" + strings.ReplaceAll(ae.Field, "_", "-")
	}
	return err
}

// runEvaluate computes the indicators on the server and writes them in the format asked for.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("evaluate", "evaluate [--from DATE] [--to DATE] [--service NAME] [--format table|csv|json|html] [--server URL] [--token EVALUATOR-TOKEN]", stderr)
	cf := addClientFlags(fs)
	from := fs.String("from", "", "first day meetings were convened on, YYYY-MM-DD")
	to := fs.String("to", "", "last day meetings were convened on, YYYY-MM-DD")
	service := fs.String("service", "", "only meetings this service was invited to")
	format := fs.String("format", "table", "table, csv, json or html (a single page to open or print)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json", "html":
	default:
		return usageError("--format %q: use table, csv, json or html", *format)
	}
	if cf.json {
		*format = "json"
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	var raw struct {
		projections.Evaluation
		Indicators []struct {
			Key, Principle, Name, Unit string
			Value                      *float64
			Numerator, Denominator     float64
		} `json:"indicators"`
	}
	c, err := cf.client("an evaluator's token is needed")
	if err != nil {
		return err
	}
	if err := c.Get(ctx, "/api/v1/evaluation/indicators", nonEmpty(url.Values{"from": {*from}, "to": {*to}, "service": {*service}}), &raw); err != nil {
		return flagNamed(err)
	}
	ev := raw.Evaluation
	ev.Indicators = nil
	for _, i := range raw.Indicators {
		v := math.NaN()
		if i.Value != nil {
			v = *i.Value
		}
		ev.Indicators = append(ev.Indicators, domainIndicator(i.Key, i.Principle, i.Name, i.Unit, v, i.Numerator, i.Denominator))
	}
	switch *format {
	case "csv":
		return evaluation.WriteCSV(stdout, ev)
	case "html":
		return evaluation.WriteHTML(stdout, ev)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(raw)
	}
	return evaluation.WriteTable(stdout, ev)
}

func domainIndicator(key, principle, name, unit string, v, num, den float64) domain.Indicator {
	return domain.Indicator{Key: key, Principle: principle, Name: name, Unit: unit, Value: v, Numerator: num, Denominator: den}
}
