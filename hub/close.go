package hub

import (
	"errors"
	"fmt"
)

// Close codes used by the hub (RFC 6455 section 7.4.1). Session.Close accepts
// any code valid on the wire: 1000-1003, 1007-1014 and 3000-4999.
const (
	CloseNormal          = 1000 // orderly close asked by the application
	CloseGoingAway       = 1001 // shutdown, idle timeout, missing pong
	CloseProtocolError   = 1002 // protocol violation by the peer
	CloseUnsupportedData = 1003 // a message type the endpoint does not accept
	CloseNoStatus        = 1005 // peer's close frame had no code (never sent)
	CloseAbnormal        = 1006 // connection dropped without a close frame (never sent)
	CloseInvalidPayload  = 1007 // invalid UTF-8 in a text message
	ClosePolicy          = 1008 // rate limit, token expired, kicked
	CloseTooBig          = 1009 // message over the size limit
	CloseServerError     = 1011 // a callback panicked or the server failed
	// CloseSlowConsumer is sent when a session's queue overflows under the
	// Disconnect policy. It is ClosePolicy with the reason "slow consumer".
	CloseSlowConsumer = ClosePolicy
)

// CloseError reports how a session ended: the close code sent or received and
// its reason. Session.Err returns one; use errors.As to inspect it.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("hub: session closed with %d", e.Code)
	}
	return fmt.Sprintf("hub: session closed with %d (%s)", e.Code, e.Reason)
}

// CloseStatus returns the close code carried by err, or -1 if err carries none.
func CloseStatus(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// validCloseCode reports whether code may be sent in a close frame.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// maxReason is the longest close reason that fits a control frame with its code.
const maxReason = 123

// truncateReason cuts reason to fit a close frame without splitting a UTF-8
// sequence.
func truncateReason(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason
	for cut > 0 && reason[cut]&0xC0 == 0x80 {
		cut--
	}
	return reason[:cut]
}
