module github.com/wsgate/wsgate/hub/redisstore

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/redis/go-redis/v9 v9.23.0
	github.com/wsgate/wsgate v0.0.0-00010101000000-000000000000
	github.com/wsgate/wsgate/hub/redisbroker v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/wsgate/wsgate => ../..

replace github.com/wsgate/wsgate/hub/redisbroker => ../../hub/redisbroker
