package middleware

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Refusal is an HTTP answer to a request that may not be upgraded. Return
// one from Config.Admit to choose the status; any other error from Admit is
// answered with 403.
type Refusal struct {
	Status int         // 300 to 599; Admit's refusals outside that range get 500
	Reason string      // sent as the plain-text body
	Header http.Header // extra response headers, such as Retry-After
}

// Refuse returns a Refusal with the given status and reason.
func Refuse(status int, reason string) *Refusal { return refuse(status, reason) }

func refuse(status int, reason string) *Refusal { return &Refusal{Status: status, Reason: reason} }

func (r *Refusal) Error() string {
	return fmt.Sprintf("middleware: refused with %d: %s", r.Status, r.Reason)
}

// unavailable is the 503 sent when the hub is full or shutting down.
func unavailable(reason string, retry time.Duration) *Refusal {
	ref := refuse(http.StatusServiceUnavailable, reason)
	ref.Header = http.Header{"Retry-After": {strconv.Itoa(int((retry + time.Second - 1) / time.Second))}}
	return ref
}

// write sends the refusal.
func (r *Refusal) write(w http.ResponseWriter) {
	for k, vs := range r.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	http.Error(w, r.Reason, r.Status)
}
