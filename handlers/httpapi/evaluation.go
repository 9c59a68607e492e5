package httpapi

import (
	"math"
	"net/http"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/evaluation"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

func (a *API) replay(w http.ResponseWriter, r *http.Request, forEvaluator bool) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	if forEvaluator && actor.Role != domain.RoleEvaluator {
		a.fail(w, r, domain.Errorf(domain.Forbidden, "the evaluation is for evaluators"))
		return
	}
	q, err := evaluation.ParseReplayQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Access != nil {
		// Checked before the replay too: a support person's mandate may cover some meetings only.
		if q.Mandate, err = a.Access.Mandate(r.Context(), actor); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	out, err := a.Replayer.Replay(r.Context(), actor, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.Access != nil {
		// A replay is a read of the citizen's data: logged before it is answered, and a support
		// person's mandate checked.
		criteria := map[string]string{}
		for k := range r.URL.Query() {
			criteria[k] = r.URL.Query().Get(k)
		}
		var citizens []uuid.UUID
		if c, err := uuid.Parse(out.Citizen); err == nil {
			citizens = append(citizens, c)
		}
		for _, m := range out.Meetings {
			if c, err := uuid.Parse(m.Citizen); err == nil {
				citizens = append(citizens, c)
			}
		}
		what := "replay"
		if forEvaluator {
			what = "evaluation-replay"
		}
		if err := a.Access.Record(r.Context(), actor, what, q.Meeting, criteria, citizens...); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) indicators(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "from", "to", "service", "format", "after":
		default:
			a.fail(w, r, domain.FieldErrorf(k, "is not a parameter of indicators; it takes from, to, service, format and after"))
			return
		}
	}
	format := v.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" && format != "html" {
		a.fail(w, r, domain.FieldErrorf("format", "%q: use json, csv or html", format))
		return
	}
	after, err := query.SeqParam(v, "after")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ev, err := a.Evaluator.Evaluate(r.Context(), actor, projections.ServicesFilter{From: v.Get("from"), To: v.Get("to"), Service: v.Get("service")}, after)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="aabendialog-indicators.csv"`)
		_ = evaluation.WriteCSV(w, ev)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		_ = evaluation.WriteHTML(w, ev)
	default:
		writeJSON(w, http.StatusOK, jsonSafe(ev))
	}
}

// jsonSafe replaces the NaN of an indicator with nothing to measure by null: JSON has no NaN.
func jsonSafe(ev projections.Evaluation) any {
	type ind struct {
		domain.Indicator
		Value *float64 `json:"value"`
	}
	out := struct {
		projections.Evaluation
		Indicators []ind `json:"indicators"`
	}{Evaluation: ev}
	for _, i := range ev.Indicators {
		x := ind{Indicator: i}
		if !math.IsNaN(i.Value) {
			v := i.Value
			x.Value = &v
		}
		out.Indicators = append(out.Indicators, x)
	}
	return out
}
