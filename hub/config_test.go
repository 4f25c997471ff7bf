package hub

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		field string
		cfg   Config
	}{
		{"MaxConnections", Config{MaxConnections: -2}},
		{"MaxTextMessage", Config{MaxTextMessage: -2}},
		{"MaxBinaryMessage", Config{MaxBinaryMessage: -2}},
		{"MaxQueuedMessages", Config{MaxQueuedMessages: -1}},
		{"MaxQueuedBytes", Config{MaxQueuedBytes: -1}},
		{"SlowPolicy", Config{SlowPolicy: Block + 1}},
		{"SlowPolicy", Config{SlowPolicy: -1}},
		{"BlockTimeout", Config{BlockTimeout: -time.Second}},
		{"PongTimeout", Config{PongTimeout: -time.Second}},
		{"IdleTimeout", Config{IdleTimeout: -time.Second}},
		{"WriteTimeout", Config{WriteTimeout: -time.Second}},
		{"HandshakeTimeout", Config{HandshakeTimeout: -time.Second}},
		{"CloseTimeout", Config{CloseTimeout: -time.Second}},
		{"MaxRoomsPerSession", Config{MaxRoomsPerSession: -1}},
		{"MaxTopicsPerSession", Config{MaxTopicsPerSession: -1}},
		{"ReadBufferSize", Config{ReadBufferSize: 511}},
		{"Compression.Level", Config{Compression: Compression{Level: 10}}},
		{"Compression.Level", Config{Compression: Compression{Level: LevelHuffmanOnly - 1}}},
		{"Compression.Threshold", Config{Compression: Compression{Threshold: -1}}},
		{"Compression.WindowBits", Config{Compression: Compression{WindowBits: 7}}},
		{"Compression.ClientWindowBits", Config{Compression: Compression{ClientWindowBits: 16}}},
		{"NodeID", Config{NodeID: strings.Repeat("n", 65)}},
		{"OutboxSize", Config{OutboxSize: -1}},
		{"BrokerTimeout", Config{BrokerTimeout: -time.Second}},
		{"PresenceTTL", Config{PresenceTTL: -time.Second}},
		{"PresenceTTL", Config{PresenceTTL: time.Millisecond}},
		{"OutboxSize", Config{OutboxSize: 1<<20 + 1}},
		{"Presence", Config{Presence: true, Broker: struct{ Broker }{NewMemoryBus().Broker()}}},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			h, err := New(tc.cfg)
			if h != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New = %v, %v; want an ErrConfig naming %s", h, err, tc.field)
			}
		})
	}

	good := []struct {
		name string
		cfg  Config
	}{
		{"zero", Config{}},
		{"no size limits", Config{MaxTextMessage: -1, MaxBinaryMessage: -1}},
		{"pings off", Config{PingInterval: -1}},
		{"no compression level", Config{Compression: Compression{Enabled: true, Level: LevelNoCompression}}},
		{"huffman only", Config{Compression: Compression{Enabled: true, Level: LevelHuffmanOnly}}},
		{"every policy", Config{SlowPolicy: Block}},
		{"node id", Config{NodeID: strings.Repeat("n", 64)}},
		{"window bits 15", Config{Compression: Compression{WindowBits: 15}}},
	}
	for _, tc := range good {
		t.Run("valid "+tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.cfg); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.withDefaults()
	want := Config{
		MaxConnections: 100_000,
		MaxTextMessage: 64 << 10, MaxBinaryMessage: 64 << 10,
		MaxQueuedMessages: 256, MaxQueuedBytes: 1 << 20,
		BlockTimeout: time.Second, PingInterval: 25 * time.Second, PongTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, HandshakeTimeout: 10 * time.Second, CloseTimeout: 5 * time.Second,
		MaxRoomsPerSession: 64, MaxTopicsPerSession: 64, MaxSessionHeaderBytes: 8 << 10, ReadBufferSize: 1024,
		Compression: Compression{Level: 1, Threshold: 512},
		OutboxSize:  4096, BrokerTimeout: 5 * time.Second, PresenceTTL: 30 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
	for p, s := range map[SlowPolicy]string{Disconnect: "disconnect", DropOldest: "drop-oldest", DropNewest: "drop-newest", Block: "block", 9: "SlowPolicy(9)"} {
		if p.String() != s {
			t.Errorf("%d.String() = %q", int(p), p.String())
		}
	}
}
