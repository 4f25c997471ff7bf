package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestHeaderMatchesLibrary checks, without a C compiler, that
// include/dmsc_ws.h declares exactly the functions the library defines (the
// Go exports and bridge.c's), and that its constants are the values the Go
// side returns. The build itself checks the signatures: cgo's exports are
// compiled against the header.
func TestHeaderMatchesLibrary(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	header := read("include/dmsc_ws.h")

	var declared []string
	for _, m := range regexp.MustCompile(`(?m)^[A-Za-z].*?\b(dmsc_ws_\w+)\(`).FindAllStringSubmatch(header, -1) {
		declared = append(declared, m[1])
	}
	var defined []string
	goFiles := []string{"config.go", "manager.go", "events.go", "routing.go", "session.go"}
	for _, f := range goFiles {
		for _, m := range regexp.MustCompile(`(?m)^//export (dmsc_ws_\w+)$`).FindAllStringSubmatch(read(f), -1) {
			defined = append(defined, m[1])
		}
	}
	bridge := read("bridge.c")
	for _, m := range regexp.MustCompile(`(?m)^WSG_SETTER\((\w+),`).FindAllStringSubmatch(bridge, -1) {
		defined = append(defined, "dmsc_ws_session_manager_set_on_"+m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^const char\* (dmsc_ws_\w+)\(`).FindAllStringSubmatch(bridge, -1) {
		defined = append(defined, m[1])
	}
	slices.Sort(declared)
	slices.Sort(defined)
	if !slices.Equal(declared, slices.Compact(slices.Clone(declared))) {
		t.Errorf("the header declares a function twice")
	}
	for _, f := range declared {
		if _, ok := slices.BinarySearch(defined, f); !ok {
			t.Errorf("%s is declared in dmsc_ws.h but not defined", f)
		}
	}
	for _, f := range defined {
		if _, ok := slices.BinarySearch(declared, f); !ok {
			t.Errorf("%s is defined but not declared in dmsc_ws.h", f)
		}
	}
	if len(declared) < 125 {
		t.Errorf("found only %d declarations; the pattern is broken", len(declared))
	}

	want := map[string]int{
		"OK": codeOK, "ERR_NULL": codeNull, "ERR_INVALID_HANDLE": codeInvalidHandle,
		"ERR_INVALID_ARGUMENT": codeInvalidArgument, "ERR_STATE": codeState, "ERR_NOT_FOUND": codeNotFound,
		"ERR_CLOSED": codeClosed, "ERR_QUEUE_FULL": codeQueueFull, "ERR_LIMIT": codeLimit,
		"ERR_CONFIG": codeConfig, "ERR_LISTEN": codeListen, "ERR_TLS": codeTLS, "ERR_TIMEOUT": codeTimeout,
		"ERR_BORROWED": codeBorrowed, "ERR_INTERNAL": codeInternal,
		"ERR_PROTOCOL": codeProtocol, "ERR_MESSAGE_TOO_BIG": codeMessageTooBig,
		"ERR_INVALID_DATA": codeInvalidData, "ERR_PONG_TIMEOUT": codePongTimeout, "ERR_WRITE": codeWrite,
		"ERR_CONN_RESET": codeConnReset, "ERR_EVENT_QUEUE_FULL": codeEventQueueFull,
		"RATE_LIMIT_DROP": rateDrop, "RATE_LIMIT_QUEUE": rateQueue, "RATE_LIMIT_REJECT": rateReject,
		"SLOW_DISCONNECT": slowDisconnect, "SLOW_DROP_OLDEST": slowDropOldest,
		"SLOW_DROP_NEWEST": slowDropNewest, "SLOW_BLOCK": slowBlock,
		"EVENTS_DISCONNECT": eventsDisconnect, "EVENTS_BLOCK": eventsBlock,
		"MESSAGE_TEXT": 1, "MESSAGE_BINARY": 2,
	}
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:#define )?DMSC_WS_(\w+)\s*=?\s*\(?(-?\d+)\)?`).FindAllStringSubmatch(header, -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] = n
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("DMSC_WS_%s = %d (found %v) in the header, want %d", name, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the header defines %d DMSC_WS_ constants, the test knows %d: %v", len(got), len(want), got)
	}
}
