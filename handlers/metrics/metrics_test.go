package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSeriesResolvedOnceCountEveryCall: the series resolved on first use (a command's ok count
// and duration, a route's 200s) count every call after it, beside the series looked up by label
// (other outcomes, other codes), and a route never answered shows no series.
func TestSeriesResolvedOnceCountEveryCall(t *testing.T) {
	m := New()
	for range 3 {
		m.ObserveCommand("convene-meeting", "ok", time.Millisecond)
	}
	m.ObserveCommand("convene-meeting", "conflict", time.Millisecond)
	m.ObserveCommand("cancel-meeting", "ok", time.Millisecond)

	status := http.StatusOK
	h := m.Counted("command", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			w.WriteHeader(status)
		}
	}))
	_ = m.Counted("unused", h)
	for _, s := range []int{200, 200, 404, 200} {
		status = s
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	}

	got := map[string]float64{}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.GetCounter() != nil:
				got[key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"aabendialog_commands_total command=convene-meeting outcome=ok":       3,
		"aabendialog_commands_total command=convene-meeting outcome=conflict": 1,
		"aabendialog_commands_total command=cancel-meeting outcome=ok":        1,
		"aabendialog_command_duration_seconds command=convene-meeting":        4,
		"aabendialog_command_duration_seconds command=cancel-meeting":         1,
		"aabendialog_http_requests_total code=200 route=command":              3,
		"aabendialog_http_requests_total code=404 route=command":              1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	for key := range got {
		if strings.Contains(key, "route=unused") {
			t.Errorf("a route never answered shows a series: %s", key)
		}
	}
}
