package hub

import "errors"

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
