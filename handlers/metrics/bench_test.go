package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkObserveCommand counts a command that went well, as every command does.
//
//	go test ./handlers/metrics -run '^$' -bench . -benchmem
func BenchmarkObserveCommand(b *testing.B) {
	m := New()
	for b.Loop() {
		m.ObserveCommand("citizen-sets-agenda", "ok", time.Millisecond)
	}
}

// BenchmarkCounted counts a request answered 200 around a handler that does nothing.
func BenchmarkCounted(b *testing.B) {
	h := New().Counted("command", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w, r := httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil)
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
