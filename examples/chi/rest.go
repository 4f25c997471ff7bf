package main

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/hub"
)

// publish is POST /rooms/{room}/messages with {"text":"..."}: the text goes
// to the room's members from the caller's token subject. It answers
// {"room":"lobby","delivered":N}, N being the sessions it was queued for.
func (a *app) publish(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "want a JSON body {\"text\":\"...\"}")
		return
	}
	room := chi.URLParam(r, "room")
	n, err := a.Rooms.Publish(room, demoauth.Subject(r.Context()), body.Text)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room, "delivered": n})
}

// members is GET /rooms/{room}/members: {"room":"lobby","members":[{"session":"...","user":"alice"}]}.
func (a *app) members(w http.ResponseWriter, r *http.Request) {
	room := chi.URLParam(r, "room")
	m, err := a.Rooms.Members(room)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room": room, "members": m})
}

// kick is DELETE /sessions/{id}: the session is closed with 1008 "kicked"
// (204), or 404 if this node has no such session. Any authenticated caller
// may kick; a real program would check a role claim.
func (a *app) kick(w http.ResponseWriter, r *http.Request) {
	switch err := a.Rooms.Kick(chi.URLParam(r, "id")); {
	case errors.Is(err, hub.ErrSessionNotFound):
		writeError(w, http.StatusNotFound, "no such session")
	case err != nil && !errors.Is(err, hub.ErrClosed):
		writeError(w, http.StatusInternalServerError, "cannot close the session")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// stats is GET /stats: the hub's counters and the refusals of /ws.
func (a *app) stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.Rooms.Stats(a.Refusals()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
