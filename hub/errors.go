package hub

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned when an operation needs a session or hub that
	// has already ended.
	ErrClosed = errors.New("hub: closed")
	// ErrShuttingDown is returned by Accept once Shutdown has begun.
	ErrShuttingDown = errors.New("hub: shutting down")
	// ErrFull is returned by Accept when Config.MaxConnections sessions are
	// already open.
	ErrFull = errors.New("hub: too many connections")
	// ErrSessionNotFound is returned for a session ID this node does not hold.
	ErrSessionNotFound = errors.New("hub: session not found")
	// ErrQueueFull is returned by Session.Send when the message was refused
	// under the DropNewest policy (or, with Block, after BlockTimeout).
	ErrQueueFull = errors.New("hub: send queue full")
	// ErrBadName is returned for an invalid room name, topic or pattern.
	ErrBadName = errors.New("hub: invalid name")
	// ErrTooManyRooms is returned by Join past Config.MaxRoomsPerSession and
	// by Subscribe past Config.MaxTopicsPerSession.
	ErrTooManyRooms = errors.New("hub: too many rooms or topics for this session")
	// ErrConfig wraps every configuration error returned by New.
	ErrConfig = errors.New("hub: invalid config")
)

// The causes of a session failure, carried by the *SessionError that OnError
// receives; test them with errors.Is.
var (
	// ErrProtocol: the peer broke RFC 6455 (close 1002 sent).
	ErrProtocol = errors.New("hub: protocol violation")
	// ErrMessageTooBig: a message passed MaxTextMessage or MaxBinaryMessage
	// (close 1009 sent).
	ErrMessageTooBig = errors.New("hub: message too big")
	// ErrInvalidData: a text message that is not UTF-8, or compressed data
	// that does not inflate (close 1007 sent).
	ErrInvalidData = errors.New("hub: invalid message data")
	// ErrPongTimeout: no pong within PongTimeout of a ping (close 1001
	// sent).
	ErrPongTimeout = errors.New("hub: no pong within PongTimeout")
	// ErrWrite: a write to the peer failed or timed out (WriteTimeout); the
	// connection was closed without a close frame.
	ErrWrite = errors.New("hub: write to the peer failed")
	// ErrConnReset: the peer reset the connection.
	ErrConnReset = errors.New("hub: connection reset by the peer")
)

// SessionError is what OnError receives when a session fails because of
// the peer or the network (a callback's panic is a *PanicError instead). Err
// wraps one of ErrProtocol, ErrMessageTooBig, ErrInvalidData,
// ErrPongTimeout, ErrWrite or ErrConnReset, and the underlying error when
// there is one. A peer that closes its TCP connection without a close frame
// is not reported here; OnClose sees CloseAbnormal.
type SessionError struct {
	// Code is the close code sent to the peer, or CloseAbnormal when the
	// connection was closed without one.
	Code int
	Err  error
}

func (e *SessionError) Error() string {
	return fmt.Sprintf("hub: session failed (close %d): %v", e.Code, e.Err)
}

// Unwrap returns Err.
func (e *SessionError) Unwrap() error { return e.Err }
