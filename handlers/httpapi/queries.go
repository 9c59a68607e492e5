package httpapi

import "net/http"

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	actor, ok := a.actor(w, r)
	if !ok {
		return
	}
	out, err := a.Queries.Do(r.Context(), actor, r.PathValue("query"), r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
