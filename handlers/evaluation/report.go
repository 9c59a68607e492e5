package evaluation

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// ReportFormats are the forms an evaluation can be written in.
var ReportFormats = []string{"table", "csv", "json", "html"}

func value(ind domain.Indicator) string {
	if math.IsNaN(ind.Value) {
		return "-"
	}
	if ind.Unit == "share" {
		return strconv.FormatFloat(100*ind.Value, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(ind.Value, 'f', 2, 64)
}

// WriteTable writes the evaluation as an aligned text table.
func WriteTable(w io.Writer, ev projections.Evaluation) error {
	fmt.Fprintf(w, "Open Dialogue indicators: %d meetings (%d held), %d citizens; period %s to %s; service %s; follow-ups as of %s\n\n",
		ev.Meetings, ev.Held, ev.Citizens, orAll(ev.From), orAll(ev.To), orAll(ev.Service), ev.AsOf)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPLE\tINDICATOR\tVALUE\tNUMERATOR\tDENOMINATOR")
	for _, ind := range ev.Indicators {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ind.Principle, ind.Name, value(ind), num(ind.Numerator), num(ind.Denominator))
	}
	return tw.Flush()
}

func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// WriteCSV writes one row per indicator, for spreadsheets.
func WriteCSV(w io.Writer, ev projections.Evaluation) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"key", "principle", "indicator", "unit", "value", "numerator", "denominator", "from", "to", "service", "as_of"})
	for _, ind := range ev.Indicators {
		v := ""
		if !math.IsNaN(ind.Value) {
			v = strconv.FormatFloat(ind.Value, 'f', -1, 64)
		}
		cw.Write([]string{ind.Key, ind.Principle, ind.Name, ind.Unit, v, num(ind.Numerator), num(ind.Denominator), ev.From, ev.To, ev.Service, ev.AsOf})
	}
	cw.Flush()
	return cw.Error()
}

// principleDA names the principles in Danish, for the report a person opens or prints.
var principleDA = map[string]string{
	"immediate help":              "Øjeblikkelig hjælp",
	"social network":              "Socialt netværk",
	"the citizen is always there": "Borgeren er altid med",
	"flexibility and mobility":    "Fleksibilitet og mobilitet",
	"responsibility":              "Ansvar",
	"psychological continuity":    "Psykologisk kontinuitet",
	"less duplicated work":        "Mindre dobbeltarbejde",
}

type htmlRow struct {
	Name, Value, Fraction string
	Share                 bool
	BarWidth              float64
}

type htmlGroup struct {
	Principle string
	Rows      []htmlRow
}

var reportTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Åben Dialog: evaluering</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.5; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; vertical-align: top; }
th { background: #eee; } td.v { white-space: nowrap; font-variant-numeric: tabular-nums; }
svg { display: block; } .meta { color: #333; }
@media print { body { margin: 0; } h2 { break-after: avoid; } }
</style>
</head>
<body>
<h1>Åben Dialog: evaluering af møderne</h1>
<p class="meta">{{.Meetings}} møder ({{.Held}} holdt), {{.Citizens}} borgere. Periode: {{.From}} til {{.To}}. Tjeneste: {{.Service}}. Opfølgninger vurderet pr. {{.AsOf}}.
Ingen navne eller fritekst; borgere og deltagere indgår kun som tal.</p>
{{range .Groups}}
<h2>{{.Principle}}</h2>
<table>
<thead><tr><th scope="col">Indikator</th><th scope="col">Værdi</th><th scope="col">Tæller / nævner</th><th scope="col">Andel</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Name}}</td><td class="v">{{.Value}}</td><td class="v">{{.Fraction}}</td><td>{{if .Share}}<svg width="200" height="16" role="img" aria-label="{{.Value}}"><rect x="0" y="2" width="200" height="12" fill="#e6e6e6"/><rect x="0" y="2" width="{{.BarWidth}}" height="12" fill="#1f5f99"/></svg>{{end}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<p class="meta">Definitionerne (tæller og nævner for hver indikator) står i docs/indicators.md.</p>
</body>
</html>
`))

// WriteHTML writes a single self-contained page (no scripts, no files from elsewhere) with a
// table per principle and SVG bars for the shares, in Danish, for a person to open or print.
func WriteHTML(w io.Writer, ev projections.Evaluation) error {
	var groups []htmlGroup
	for _, ind := range ev.Indicators {
		p := principleDA[ind.Principle]
		if p == "" {
			p = ind.Principle
		}
		if len(groups) == 0 || groups[len(groups)-1].Principle != p {
			groups = append(groups, htmlGroup{Principle: p})
		}
		row := htmlRow{Name: ind.Name, Value: value(ind), Fraction: num(ind.Numerator) + " / " + num(ind.Denominator), Share: ind.Unit == "share"}
		if row.Share && !math.IsNaN(ind.Value) {
			row.BarWidth = math.Round(200*ind.Value*10) / 10
		}
		groups[len(groups)-1].Rows = append(groups[len(groups)-1].Rows, row)
	}
	var buf bytes.Buffer
	err := reportTemplate.Execute(&buf, map[string]any{
		"Meetings": ev.Meetings, "Held": ev.Held, "Citizens": ev.Citizens, "From": orAllDA(ev.From), "To": orAllDA(ev.To),
		"Service": orAllDA(ev.Service), "AsOf": ev.AsOf, "Groups": groups,
	})
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func orAllDA(s string) string {
	if s == "" {
		return "alle"
	}
	return s
}
