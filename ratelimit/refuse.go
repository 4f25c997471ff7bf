package ratelimit

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// refuse answers a refused request with status, a Retry-After header in
// whole seconds (rounded up, at least 1) and the error's short text.
func refuse(w http.ResponseWriter, status int, err error) {
	var retry time.Duration
	var le *LimitError
	if errors.As(err, &le) {
		retry = le.RetryAfter
	}
	w.Header().Set("Retry-After", strconv.FormatInt(retrySeconds(retry), 10))
	http.Error(w, err.Error(), status)
}

// retrySeconds rounds d up to whole seconds, with a floor of one.
func retrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
