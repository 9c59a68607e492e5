package httpapi

import (
	"context"
	"net/http"
	"sync"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/aabendialog/aabendialog/projections"
)

type rebuildProgress struct {
	mu          sync.Mutex
	Running     bool   `json:"running"`
	Done        uint64 `json:"done"`
	Total       uint64 `json:"total"`
	Error       string `json:"error,omitempty"`
	FinishedSeq uint64 `json:"finished_seq,omitempty"`
}

// ReadModelStatus is a read model's state for administrators.
type ReadModelStatus struct {
	projections.Status
	Rebuild *rebuildProgress `json:"rebuild,omitempty"`
}

func (a *API) admin(w http.ResponseWriter, r *http.Request) bool {
	actor, ok := a.actor(w, r)
	if !ok {
		return false
	}
	if actor.Role != domain.RoleAdmin {
		a.fail(w, r, domain.Errorf(domain.Forbidden, "only administrators look after the read models"))
		return false
	}
	return true
}

func (a *API) readModels(w http.ResponseWriter, r *http.Request) {
	if !a.admin(w, r) {
		return
	}
	out := []ReadModelStatus{}
	for _, p := range a.ReadModels {
		st := ReadModelStatus{Status: p.Status()}
		if v, ok := a.rebuilds.Load(p.Name()); ok {
			rp := v.(*rebuildProgress)
			rp.mu.Lock()
			cp := rebuildProgress{Running: rp.Running, Done: rp.Done, Total: rp.Total, Error: rp.Error, FinishedSeq: rp.FinishedSeq}
			rp.mu.Unlock()
			st.Rebuild = &cp
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, out)
}

// rebuild builds a read model again from the start of the log and swaps it in. It answers when
// the rebuild is done; GET /api/v1/read-models shows its progress meanwhile.
func (a *API) rebuild(w http.ResponseWriter, r *http.Request) {
	if !a.admin(w, r) {
		return
	}
	var p ReadModel
	for _, q := range a.ReadModels {
		if q.Name() == r.PathValue("name") {
			p = q
		}
	}
	if p == nil {
		a.fail(w, r, domain.Errorf(domain.NotFound, "no read model %q", r.PathValue("name")))
		return
	}
	rp := &rebuildProgress{Running: true}
	if old, loaded := a.rebuilds.LoadOrStore(p.Name(), rp); loaded {
		o := old.(*rebuildProgress)
		o.mu.Lock()
		running := o.Running
		if !running {
			o.Running, o.Done, o.Total, o.Error, o.FinishedSeq = true, 0, 0, "", 0
		}
		o.mu.Unlock()
		if running {
			a.fail(w, r, domain.Errorf(domain.Conflict, "read model %s is being rebuilt already", p.Name()))
			return
		}
		rp = o
	}
	// The rebuild goes on if the client goes away.
	seq, err := p.Rebuild(context.WithoutCancel(r.Context()), func(done, total uint64) {
		rp.mu.Lock()
		rp.Done, rp.Total = done, total
		rp.mu.Unlock()
	})
	rp.mu.Lock()
	rp.Running, rp.FinishedSeq = false, seq
	if err != nil {
		rp.Error = err.Error()
	}
	rp.mu.Unlock()
	if err != nil {
		a.Log.Error("rebuild failed", "projection", p.Name(), "err", err)
		writeJSON(w, http.StatusInternalServerError, command.ErrorBody{Error: command.ErrorDetail{Kind: "internal", Message: err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projection": p.Name(), "seq": seq})
}
